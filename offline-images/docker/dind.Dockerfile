# Stand-in for docker:28-dind (see ../README.md): the docker:28 stand-in's tools plus the engine
# (dockerd, containerd, runc), started by dockerd-entrypoint.sh. Run it privileged.
ARG BASE=offline/rootfs:docker-28-dind-forky
FROM ${BASE}
COPY dockerd-entrypoint.sh /usr/local/bin/
VOLUME /var/lib/docker
EXPOSE 2375
ENTRYPOINT ["dockerd-entrypoint.sh"]
CMD []

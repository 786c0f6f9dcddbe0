# Stand-in for mariadb:11.8 (see ../README.md): build.sh's Debian trixie rootfs with
# mariadb-server already in it, the container settings and the entrypoint.
ARG BASE=offline/rootfs:mariadb-11.8-trixie
FROM ${BASE}

COPY docker.cnf /etc/mysql/mariadb.conf.d/90-docker.cnf
COPY docker-entrypoint.sh /usr/local/bin/

VOLUME /var/lib/mysql
EXPOSE 3306
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mariadbd"]

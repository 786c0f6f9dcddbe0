# Stand-in for mysql:9.7 (see ../README.md): build.sh's Debian sid rootfs with mysql-server and
# mysql-client already in it, the container settings and the entrypoint.
ARG BASE=offline/rootfs:mysql-9.7-sid
FROM ${BASE}

COPY docker.cnf /etc/mysql/mysql.conf.d/mysqld.cnf
COPY docker-entrypoint.sh /usr/local/bin/

VOLUME /var/lib/mysql
EXPOSE 3306 33060
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mysqld"]

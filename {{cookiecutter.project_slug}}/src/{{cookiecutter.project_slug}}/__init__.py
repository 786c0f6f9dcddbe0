# PyMySQL is a pure-Python driver, so the images need no C compiler or MySQL
# client headers; it stands in for mysqlclient, the driver Django expects.
import pymysql

pymysql.install_as_MySQLdb()

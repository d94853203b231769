# Sourced by apache.sh and apache-gssapi.sh: the part of their httpd.conf
# they share, a lone event-MPM server rooted in its own folder, logging to
# stderr, with TLS and mod_proxy_http loaded.
#
#   apache_head RUN [MODULE ...]   # prints the configuration's head;
#                                  # MODULEs are extra ones, e.g. headers
#   apache_tls_vhost RUN PORT      # opens a TLS <VirtualHost> on 127.0.0.1:PORT
#                                  # with RUN/front.crt and RUN/front.key
# LogLevel is ${EXDIAG_APACHE_LOGLEVEL:-warn} followed by ${APACHE_LOGLEVEL_EXTRA:-}.
apache_head() {
	local run=$1 modules=/usr/lib/apache2/modules m
	shift
	cat <<CONF
ServerRoot $run
ServerName mail.contoso.test
PidFile $run/httpd.pid
DefaultRuntimeDir $run
# a piped logger writes to our stderr; nobody may not open /dev/stderr
ErrorLog "|/bin/cat"
LogLevel ${EXDIAG_APACHE_LOGLEVEL:-warn} ${APACHE_LOGLEVEL_EXTRA:-}
Mutex pthread
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
CONF
	for m in mpm_event authz_core socache_shmcb proxy proxy_http ssl "$@"; do
		echo "LoadModule ${m}_module $modules/mod_$m.so"
	done
	cat <<CONF
SSLSessionCache none
SSLRandomSeed startup builtin
CONF
}

apache_tls_vhost() {
	cat <<CONF
Listen 127.0.0.1:$2 https
<VirtualHost 127.0.0.1:$2>
	SSLEngine on
	SSLCertificateFile $1/front.crt
	SSLCertificateKeyFile $1/front.key
CONF
}

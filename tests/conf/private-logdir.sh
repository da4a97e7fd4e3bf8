# Sourced by the check scripts that run totemd on the good configs. totemd, as corosync, opens
# every logfile a config names while reading it (and refuses the config if it cannot), and the
# real-world configs name /var/log/cluster/*.log. So as root the script re-runs itself in a
# private mount namespace with a fresh tmpfs on /var/log holding an empty cluster/ directory:
# the files can be opened and nothing of the host is touched.
if [ -z "${TOTEMD_PRIVATE_LOGDIR:-}" ] && [ "$(id -u)" = 0 ]; then
  export TOTEMD_PRIVATE_LOGDIR=1
  exec unshare -m --propagation private bash -c \
    'mount -t tmpfs tmpfs /var/log && mkdir /var/log/cluster && exec "$0" "$@"' "$0" "$@"
fi

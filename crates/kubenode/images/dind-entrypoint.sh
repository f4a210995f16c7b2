#!/bin/sh
# Entrypoint of fabdev's stand-in for docker:<v>-dind (Debian's dockerd):
# prepares what dockerd needs in a privileged container the way docker:dind's
# `dind` script does, then runs its arguments (fabdev renders `dockerd ...`).
set -e
export container=docker

if [ -d /sys/kernel/security ] && ! mountpoint -q /sys/kernel/security; then
	mount -t securityfs none /sys/kernel/security ||
		echo >&2 'could not mount /sys/kernel/security (AppArmor detection may fail)'
fi
if ! mountpoint -q /tmp; then
	mount -t tmpfs none /tmp
fi

# cgroup v1 hosts: one hierarchy per controller set, as /proc/1/cgroup lists
# them. Under a CRI runtime they are mounted already (the container's own
# cgroups); under a bare `ctr run` they are not ("Devices cgroup isn't mounted").
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
	mountpoint -q /sys/fs/cgroup || mount -t tmpfs -o uid=0,gid=0,mode=0755 cgroup /sys/fs/cgroup
	for subsys in $(awk -F: '$2 != "" { print $2 }' /proc/1/cgroup); do
		dir=${subsys#name=}
		opts=$subsys
		[ "$dir" = "$subsys" ] || opts="none,$subsys"
		mkdir -p "/sys/fs/cgroup/$dir"
		mountpoint -q "/sys/fs/cgroup/$dir" || mount -n -t cgroup -o "$opts" cgroup "/sys/fs/cgroup/$dir"
		# cpu,cpuacct is also reachable as cpu and cpuacct.
		for one in $(echo "$dir" | tr ',' ' '); do
			[ "$one" = "$dir" ] || [ -e "/sys/fs/cgroup/$one" ] || ln -s "$dir" "/sys/fs/cgroup/$one"
		done
	done
fi

# As docker:dind's entrypoint: options alone mean dockerd's options.
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- dockerd "$@"
fi
exec "$@"

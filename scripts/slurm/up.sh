#!/usr/bin/env bash
# Brings up a real single-node Slurm on this machine (Debian's slurmctld,
# slurmd, slurm-client and munge; no systemd, cgroups or accounting), for
# trying `sweep --slurm` and for CI. Idempotent: a second call with Slurm up
# only checks that the node is idle. Needs root (it installs packages and
# writes /etc/slurm). About 20 s from nothing. Tear down with down.sh.
set -euo pipefail
say() { printf 'slurm-up: %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "needs root (installs packages, writes /etc/slurm)"; exit 1; }

node="$(hostname -s)"
if command -v sinfo >/dev/null 2>&1 && [ "$(timeout 5 sinfo -h -o %T 2>/dev/null | head -n 1)" = "idle" ]; then
    say "already up (node $node idle)"
    exit 0
fi

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    say "installing slurmctld, slurmd, slurm-client and munge (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi

# munge: its key, its run folder, the daemon as the munge user.
[ -f /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
if ! { [ -f /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; }; then
    rm -f /run/munge/munged.pid /run/munge/munge.socket.2*
    runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || { say "munge does not work"; exit 1; }

# slurm.conf for one node with this machine's CPUs and most of its memory.
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
cpus="$(nproc)"
mem="$(slurmd -C 2>/dev/null | tr ' ' '\n' | sed -n 's/^RealMemory=//p')"
mem="$(( ${mem:-2048} * 9 / 10 ))"
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=nnlab
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/var/spool/slurmctld/slurmctld.pid
SlurmdPidFile=/var/spool/slurmd/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pid_alive /var/spool/slurmctld/slurmctld.pid || slurmctld
pid_alive /var/spool/slurmd/slurmd.pid || slurmd
for _ in $(seq 100); do
    state="$(timeout 5 sinfo -h -o %T 2>/dev/null | head -n 1 || true)"
    [ "$state" = "idle" ] && { say "up: node $node idle, $cpus CPUs, ${mem} MB"; exit 0; }
    case "$state" in down*|drain*) scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;; esac
    sleep 0.2
done
say "the node did not become idle (state: ${state:-none}); see /var/log/slurm/"
exit 1

#!/usr/bin/env bash
# Stops what up.sh started: cancels jobs, shuts Slurm down, stops munged,
# removes pid files and spool contents. The packages stay installed.
set -uo pipefail
command -v scancel >/dev/null 2>&1 && timeout 10 scancel --user=root >/dev/null 2>&1
command -v scontrol >/dev/null 2>&1 && timeout 10 scontrol shutdown >/dev/null 2>&1
for f in /var/spool/slurmd/slurmd.pid /var/spool/slurmctld/slurmctld.pid /run/munge/munged.pid; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
done
sleep 1
rm -f /var/spool/slurmd/slurmd.pid /var/spool/slurmctld/slurmctld.pid /run/munge/munged.pid
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
echo "slurm-down: stopped" >&2

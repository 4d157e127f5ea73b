#!/usr/bin/env bash
# The memory of PostgreSQL processes as the kernel accounts it, mapping by mapping (/proc/<pid>/smaps):
#   rss_kB      every resident page the process maps, shared memory included
#   shmem_kB    the part of rss that is PostgreSQL's shared memory (shared_buffers and the rest):
#               pages every process may map, paid for once, not per connection
#   private_kB  pages outside shared memory that no other process maps: what this process costs
# With several processes, a last line adds them up.
# usage: backend-memory.sh <pid>...    (in the server's container, as the postgres user)
set -euo pipefail
for pid in "$@"; do
  awk -v pid="$pid" '
    /^[0-9a-f]+-[0-9a-f]+ / { shm = /\/dev\/zero|\/SYSV|\/dev\/shm\// }
    $1 == "Rss:" { rss += $2; if (shm) shmem += $2 }
    ($1 == "Private_Clean:" || $1 == "Private_Dirty:") && !shm { private += $2 }
    END { printf "%8d %10d %10d %10d\n", pid, rss, shmem, private }' "/proc/$pid/smaps"
done | awk 'BEGIN { printf "%8s %10s %10s %10s\n", "pid", "rss_kB", "shmem_kB", "private_kB" }
  { print; rss += $2; shmem += $3; private += $4 }
  END { if (NR > 1) printf "%8s %10d %10d %10d\n", "total", rss, shmem, private }'

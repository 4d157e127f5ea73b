#!/bin/sh
# Backports Patroni 3.0.3's fix "Make sure the leader key isn't unconditionally overwritten" (upstream
# commit d98d6d0b) to Debian bookworm's Patroni 3.0.2: when a leader renews its leader key with a new
# etcd lease (its old lease expired, e.g. after a freeze), it must create the key only if it does not
# exist (etcd's create_revision 0), instead of overwriting the key another member took meanwhile.
# Without it a woken old leader can take the key back from the new one; the new leader demotes, is
# rewound onto the old timeline, and writes acknowledged on the new leader are lost.
# Run as root at image build (Dockerfile, PATRONI_PATCHES from environments/majors.yaml).
set -eu
file=$(python3 -c 'import patroni.dcs.etcd3 as m; print(m.__file__)')
version=$(python3 -c 'from patroni.version import __version__; print(__version__)')
old='self._name, self._lease, retry=_retry)'
new="self._name, self._lease, '0', retry=_retry)"
count() { grep -cF -- "$1" "$file" || true; }
if [ "$(count "$old")" != 1 ]; then
  echo "patch etcd3-leader-key-create-revision: expected exactly one unconditional leader-key put ('$old') in $file (Patroni $version), found $(count "$old")." >&2
  echo "  The packaged Patroni changed: if it is 3.0.3 or later it has the fix; remove the patch from its row in environments/majors.yaml (patroni_patches)." >&2
  exit 1
fi
sed -i "s/self._name, self._lease, retry=_retry)/self._name, self._lease, '0', retry=_retry)/" "$file"
if [ "$(count "$new")" != 1 ]; then
  echo "patch etcd3-leader-key-create-revision: the edit of $file did not take (found $(count "$new") conditional puts)" >&2
  exit 1
fi
python3 -m py_compile "$file"
echo "patch etcd3-leader-key-create-revision: applied to Patroni $version ($file)"

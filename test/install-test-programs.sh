#!/bin/bash
# install-test-programs.sh DIR -- lay out the programs and files the tests
# run against under DIR.  The regression tests' expected output names
# these paths, and set execjson.allow_prefixes to DIR/bin.
#
#   DIR/bin/xjtool            the scriptable test program (test/programs/xjtool.c)
#   DIR/bin/ok                the trivial program: {"ok":true}
#   DIR/bin/not-executable    a regular file without execute permission
#   DIR/bin/garbage           executable, but no valid format: execve fails
#   DIR/bin/subdir/           a directory
#   DIR/bin/link-outside      symlink inside the prefix to a program outside
#   DIR/bin/dangling          symlink inside the prefix to nothing
#   DIR/bin/outside-dir       symlink inside the prefix to DIR/outside
#   DIR/outside/link-inside   symlink outside the prefix to bin/xjtool
#   DIR/outside/xjtool        a program outside the prefix
#   DIR/binfoo/xjtool         a program in a sibling whose name extends "bin"
#   DIR/bin-link              symlink to DIR/bin (a non-canonical prefix)
#   DIR/bin/script            a "#!/bin/sh" script
#   DIR/bin/xjtool-xonly      xjtool, executable but not readable by others
#   DIR/bin/ids-setuid        test/programs/ids.c, setuid root (if installed by root)
#   DIR/bin/café              xjtool under a UTF-8 name with a non-ASCII character
#   DIR/bin/bad-<0xff>        xjtool under a name that is not valid UTF-8
#   DIR/bin/to-bad            symlink to bad-<0xff>
#   DIR/swapshim.so           test/programs/swapshim.c, an LD_PRELOAD library (TAP 018)
#   DIR/nosetattr.so          test/programs/nosetattr.c, an LD_PRELOAD library (TAP 025)
#   DIR/cloneshim.so          test/programs/cloneshim.c, an LD_PRELOAD library (TAP 026)
set -euo pipefail

dir=$1
progs=$(cd "$(dirname "$0")/programs" && pwd)

rm -rf "$dir"
install -d -m 755 "$dir" "$dir/bin" "$dir/bin/subdir" "$dir/outside" "$dir/binfoo"
install -m 755 "$progs/xjtool" "$progs/ok" "$dir/bin/"
install -m 755 "$progs/xjtool" "$dir/outside/xjtool"
install -m 755 "$progs/xjtool" "$dir/binfoo/xjtool"
install -m 644 /dev/null "$dir/bin/not-executable"
printf 'this is not a program\n' >"$dir/bin/garbage"
chmod 755 "$dir/bin/garbage"
ln -s "$(readlink -f /bin/true)" "$dir/bin/link-outside"
ln -s "$dir/bin/no-such-program" "$dir/bin/dangling"
ln -s "$dir/outside" "$dir/bin/outside-dir"
ln -s "$dir/bin/xjtool" "$dir/outside/link-inside"
ln -s "$dir/bin" "$dir/bin-link"
printf '#!/bin/sh\nprintf "{\\"script\\": \\"%%s\\", \\"args\\": %%d}" "$1" "$#"\n' >"$dir/bin/script"
chmod 755 "$dir/bin/script"
install -m 711 "$progs/xjtool" "$dir/bin/xjtool-xonly"
install -m 755 "$progs/ids" "$dir/bin/ids-setuid"
install -m 644 "$progs/swapshim.so" "$dir/swapshim.so"
install -m 644 "$progs/nosetattr.so" "$dir/nosetattr.so"
install -m 644 "$progs/cloneshim.so" "$dir/cloneshim.so"
install -m 755 "$progs/xjtool" "$dir/bin/caf$(printf '\303\251')"
install -m 755 "$progs/xjtool" "$dir/bin/bad-$(printf '\377')"
ln -s "$dir/bin/bad-$(printf '\377')" "$dir/bin/to-bad"
if [ "$(id -u)" = 0 ]; then
	chmod 4755 "$dir/bin/ids-setuid"
fi

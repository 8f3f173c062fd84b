#!/usr/bin/env bash
# Every symbol libemoti.a exports starts with emoti_: the library shares one namespace with the
# programs that link it. Lists each defined global symbol of $BUILD/libemoti.a that does not,
# with its object file. Local (static) and debug symbols are not exported and not checked; nor
# are names reserved to the implementation (__x, _X: the toolchain's own, such as i386's
# __x86.get_pc_thunk.* or ASan's __odr_asan.*). The filter first runs on a small archive built
# here, whose badly named symbols it must list exactly, so that it cannot pass by seeing nothing
# (an nm whose output it misreads, a platform prefix on C names it does not strip).
# Env: BUILD (the folder holding libemoti.a), CC (the probe's compiler, default cc), NM (default nm).
set -u
BUILD=${BUILD:-build}
CC=${CC:-cc}
NM=${NM:-nm}
lib=$BUILD/libemoti.a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# exported ARCHIVE PREFIX: "name member" for each defined global symbol, PREFIX (the platform's
# prefix of C names: "_" on Mach-O) taken off, reserved names left out.
exported() {
    "$NM" -P -g --defined-only "$1" | awk -v pre="$2" '
        NF == 1 && /\]:$/ { member = $1; sub(/^.*\[/, "", member); sub(/\]:$/, "", member); next }
        NF >= 2 && $2 ~ /^[A-Za-z]$/ {
            name = $1
            if (pre != "" && index(name, pre) == 1) name = substr(name, length(pre) + 1)
            if (name ~ /^(__|_[A-Z])/) next
            print name, member
        }'
}
badly_named() { exported "$1" "$2" | awk '$1 !~ /^emoti_/'; }

# The probe: two exported symbols named well, two named badly, locals, a reserved name.
cat >"$tmp/probe.c" <<'EOF'
int emoti_probe_fn(void);
int probe_bad_fn(void);
int emoti_probe_data = 1;
int probe_bad_data = 2;
static int probe_local_data = 3;
static int probe_local_fn(void) { return probe_local_data; }
int __emoti_probe_reserved(void) { return 4; }
int emoti_probe_fn(void) { return probe_local_fn() + probe_bad_data; }
int probe_bad_fn(void) { return emoti_probe_data; }
EOF
# shellcheck disable=SC2086 # CC may carry flags (cc -m32)
if ! $CC -O0 -g -c "$tmp/probe.c" -o "$tmp/probe.o" || ! ar rcs "$tmp/probe.a" "$tmp/probe.o"; then
    echo "FAIL: cannot build the probe archive with $CC / ar"
    exit 1
fi
# the prefix is what precedes emoti_probe_fn in nm's name for it
pre=$("$NM" -P -g --defined-only "$tmp/probe.a" | awk '$1 ~ /emoti_probe_fn$/ { sub(/emoti_probe_fn$/, "", $1); print $1; exit }')
got=$(badly_named "$tmp/probe.a" "$pre" | awk '{print $1}' | sort | tr '\n' ' ')
if [ "$got" != "probe_bad_data probe_bad_fn " ]; then
    echo "FAIL: the filter is broken: on the probe archive it lists '$got'" \
        "(want 'probe_bad_data probe_bad_fn'; nm -P -g --defined-only gives:)"
    "$NM" -P -g --defined-only "$tmp/probe.a" | sed 's/^/    /'
    exit 1
fi
if ! "$NM" -P "$tmp/probe.a" | grep -q "probe_local_fn"; then
    echo "FAIL: the probe has no local symbol to leave out (nm -P does not list probe_local_fn)"
    exit 1
fi
echo "ok   the filter lists exactly the probe's badly named symbols (C name prefix '${pre}')"

[ -f "$lib" ] || { echo "FAIL: $lib not found (build it first: make)"; exit 1; }
total=$(exported "$lib" "$pre" | wc -l)
bad=$(badly_named "$lib" "$pre")
if [ "$total" -eq 0 ]; then
    echo "FAIL: no exported symbol found in $lib"
    exit 1
fi
if [ -n "$bad" ]; then
    echo "FAIL: $(printf '%s\n' "$bad" | wc -l) of the $total symbols $lib exports do not start" \
        "with emoti_ (rename them, or make them static):"
    printf '%s\n' "$bad" | awk '{printf "    %s (%s)\n", $1, $2}'
    exit 1
fi
echo "ok   $lib: all $total exported symbols start with emoti_"

#!/bin/bash
# The man pages and the bash completion, against the real binaries:
#  * doc/*.scd build with scdoc (make man, into a fresh build tree) and
#    groff -man -ww -z (mandoc -T lint too, where installed) finds nothing;
#  * every option `xlbd --help` and `xlbctl -h` print is in its page
#    (rendered), and the check does fail for a page with one removed;
#  * the completion parses (bash -n), and, driven through COMP_WORDS and
#    COMP_CWORD in a bash of its own, completes schedulers, check options
#    and xlbd's options as the binaries' help lists them;
#  * make install DESTDIR=... puts the pages and the completion where
#    the Makefile's install rule promises.
# Needs no root and no namespace.
. "$(dirname "$0")/lib.sh"
lab_init

XLBD=$B/xlbd
XLBCTL=$B/xlbctl
for bin in "$XLBD" "$XLBCTL"; do
	[ -x "$bin" ] || { fail "$bin is built"; exit 1; }
done
command -v scdoc >/dev/null || { fail "scdoc installed (scripts/deps.sh)"; exit 1; }
command -v groff >/dev/null || { fail "groff installed (scripts/deps.sh)"; exit 1; }

# --- build ---------------------------------------------------------------
MB=$T/build
check "make man builds the pages into a fresh tree" \
	make -s -C "$ROOT" BUILD="$MB" man
for p in xlbd xlbctl; do
	check "$p.8 built" test -s "$MB/man/$p.8"
done

# --- lint ----------------------------------------------------------------
for p in xlbd xlbctl; do
	out=$(groff -man -ww -z "$MB/man/$p.8" 2>&1); rc=$?
	check_eq "groff -man -ww -z $p.8: no warning" "0:" "$rc:$out"
	if command -v mandoc >/dev/null; then
		# scdoc opens every block with .P, even after .SH or another
		# .P: mandoc says "skipping paragraph macro" for each (style,
		# harmless to the rendering). Anything else is a finding.
		out=$(mandoc -T lint -W warning "$MB/man/$p.8" 2>&1 |
			grep -v 'WARNING: skipping paragraph macro')
		check_eq "mandoc -T lint $p.8: no warning but scdoc's paragraph macros" "" "$out"
	fi
done

# --- every option of the help is in the page ------------------------------
# render PAGE.8: plain text, one line per paragraph (no breaks, no
# hyphenation), so that an option is never cut in two.
render() { groff -man -Tascii -P-cbou -rLL=4000n -rHY=0 "$1" 2>/dev/null; }
# help_opts: the options a help text mentions: --long, and -X where the dash
# starts a word (not 0-3 or sh-port).
help_opts() {
	{
		printf '%s\n' "$1" | grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]'
		printf '%s\n' "$1" | grep -oE -- '(^|[][ |(,/])-[A-Za-z0-9]([^A-Za-z0-9-]|$)' |
			grep -oE -- '-[A-Za-z0-9]'
	} | sort -u
}
# missing HELP PAGE.txt: the options of HELP that PAGE.txt lacks.
missing() {
	local o
	for o in $(help_opts "$1"); do
		grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" "$2" || echo "$o"
	done
}
xlbd_help=$("$XLBD" --help)
xlbctl_help=$("$XLBCTL" -h)
render "$MB/man/xlbd.8" >"$T/xlbd.txt"
render "$MB/man/xlbctl.8" >"$T/xlbctl.txt"
n_xlbd=$(help_opts "$xlbd_help" | wc -l)
n_xlbctl=$(help_opts "$xlbctl_help" | wc -l)
echo "options in the help: xlbd $n_xlbd, xlbctl $n_xlbctl"
check "xlbd --help names at least 15 options" test "$n_xlbd" -ge 15
check "xlbctl -h names at least 80 options" test "$n_xlbctl" -ge 80
check_eq "every option of xlbd --help is in xlbd(8)" "" \
	"$(missing "$xlbd_help" "$T/xlbd.txt" | tr '\n' ' ')"
check_eq "every option of xlbctl -h is in xlbctl(8)" "" \
	"$(missing "$xlbctl_help" "$T/xlbctl.txt" | tr '\n' ' ')"
# The same check on a page without --quorum and -X must name them.
sed -E -e 's/--quorum//g' -e 's/(^|[^A-Za-z0-9-])-X([^A-Za-z0-9-]|$)/\1\2/g' \
	"$ROOT/doc/xlbctl.8.scd" | scdoc >"$T/cut.8" && render "$T/cut.8" >"$T/cut.txt"
check_eq "the check names what a page lacks (--quorum, -X removed)" "--quorum -X " \
	"$(missing "$xlbctl_help" "$T/cut.txt" | sort | tr '\n' ' ')"

# --- bash completion ------------------------------------------------------
COMP=$ROOT/dist/xlbctl.bash-completion
check "bash -n xlbctl.bash-completion" bash -n "$COMP"
# complete WORDS...: what the completion registered for WORDS[0] offers for
# the last word, sorted, one a line; in a bash of its own (no rc files).
complete_words() {
	bash --norc --noprofile -c '
		. "$1" || exit 1
		shift
		f=$(complete -p "$1" 2>/dev/null | sed -n "s/.*-F \([^ ]*\).*/\1/p")
		[ -n "$f" ] || { echo "no completion for $1" >&2; exit 1; }
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' complete "$COMP" "$@" | sort -u
}
lines() { tr '\n' ' ' | sed 's/ $//'; }
check_eq "xlbctl -A -t 10.0.0.1:80 -s w<TAB>" "wlc wrr" \
	"$(complete_words xlbctl -A -t 10.0.0.1:80 -s w | lines)"
checks=$(printf '%s\n' "$xlbctl_help" | grep -oE -- '--check[a-z-]*' | sort -u | lines)
check_eq "xlbctl --che<TAB>: the --check options of xlbctl -h" "$checks" \
	"$(complete_words xlbctl --che | lines)"
check_eq "xlbctl -a -t 10.0.0.1:80 -r 10.0.1.1 --check-r<TAB>" "--check-rise" \
	"$(complete_words xlbctl -a -t 10.0.0.1:80 -r 10.0.1.1 --check-r | lines)"
scheds=$(printf '%s\n' "$xlbctl_help" | sed -n 's/.*one of: \([a-z, ]*\);.*/\1/p' |
	tr -d ',' | tr ' ' '\n' | grep . | sort -u | lines)
check "xlbctl -h lists schedulers" test -n "$scheds"
check_eq "xlbctl -A -t VIP -s <TAB>: the schedulers of xlbctl -h" "$scheds" \
	"$(complete_words xlbctl -A -t 10.0.0.1:80 -s '' | lines)"
check_eq "xlbctl -A -u VIP -b sh-port,sh<TAB>" "sh-port,sh-fallback" \
	"$(complete_words xlbctl -A -u 10.0.0.1:53 -s sh -b sh-port,sh | lines)"
check_eq "xlbctl -E -t VIP --check <TAB>" "exec http none tcp udp" \
	"$(complete_words xlbctl -E -t 10.0.0.1:80 --check '' | lines)"
mkdir -p "$T/kad" && : >"$T/kad/keepalived.conf"
check_eq "xlbctl --from-keepalived FILE<TAB>" "$T/kad/keepalived.conf" \
	"$(complete_words xlbctl --from-keepalived "$T/kad/keep" | lines)"
check_eq "xlbctl --socket /run/xlb/x<TAB>" "/run/xlb/xlb.sock" \
	"$(complete_words xlbctl --socket /run/xlb/x | lines)"
check_eq "xlbctl -L -n --st<TAB>" "--stats" \
	"$(complete_words xlbctl -L -n --st | lines)"
# Every long option of xlbctl -h but the refused ones is offered.
absent=""
for o in $(printf '%s\n' "$xlbctl_help" | grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' | sort -u); do
	case $o in --pe | --start-daemon) continue ;; esac
	complete_words xlbctl "$o" | grep -qx -- "$o" || absent="$absent $o"
done
check_eq "every accepted long option of xlbctl -h completes" "" "$absent"
# xlbd's own completion: every option of xlbd --help.
absent=""
all=$(complete_words xlbd -)
for o in $(help_opts "$xlbd_help"); do
	printf '%s\n' "$all" | grep -qx -- "$o" || absent="$absent $o"
done
check_eq "xlbd -<TAB> offers every option of xlbd --help" "" "$absent"
check_eq "xlbd --zerocopy <TAB>" "auto off on" \
	"$(complete_words xlbd -i eth0 --zerocopy '' | lines)"

# -t/-u offer the services of a live xlbd (its own namespace, on lo).
if [ "$(id -u)" -eq 0 ]; then
	NS=${P}docs
	ip netns add "$NS" && lab_on_exit "ip netns del '$NS'"
	ip -n "$NS" link set lo up
	if xlbd_start "$NS" "$T/x.sock" "$T/xlbd.log" -i lo --xdp-mode skb \
		--zerocopy off --state-file "$T/x.state"; then
		"$XLBCTL" --socket "$T/x.sock" -A -t 10.9.0.1:80
		"$XLBCTL" --socket "$T/x.sock" -A -t 10.9.0.2:443
		"$XLBCTL" --socket "$T/x.sock" -A -u 10.9.0.1:53
		check_eq "xlbctl --socket S -a -t <TAB>: xlbd's TCP services" \
			"10.9.0.1:80 10.9.0.2:443" \
			"$(PATH=$B:$PATH complete_words xlbctl --socket "$T/x.sock" -a -t '' | lines)"
		check_eq "xlbctl --socket=S -d -u <TAB>: xlbd's UDP services" "10.9.0.1:53" \
			"$(PATH=$B:$PATH complete_words xlbctl --socket="$T/x.sock" -d -u '' | lines)"
	else
		fail "xlbd starts on lo for the live completion"
	fi
else
	echo "NOTE: not root: the completion of xlbd's live services is not tested"
fi

# --- make install ---------------------------------------------------------
D=$T/root
check "make install DESTDIR=... PREFIX=/usr" \
	make -s -C "$ROOT" BUILD="$B" install DESTDIR="$D" PREFIX=/usr
for p in xlbd xlbctl; do
	check "installed share/man/man8/$p.8, as built" \
		cmp -s "$B/man/$p.8" "$D/usr/share/man/man8/$p.8"
done
check "installed share/bash-completion/completions/xlbctl" \
	cmp -s "$COMP" "$D/usr/share/bash-completion/completions/xlbctl"
check "completions/xlbd is the same script (a symlink)" \
	cmp -s "$COMP" "$D/usr/share/bash-completion/completions/xlbd"
if command -v man >/dev/null; then
	check_eq "man finds the installed xlbctl(8)" "$D/usr/share/man/man8/xlbctl.8" \
		"$(MANPATH=$D/usr/share/man man -w 8 xlbctl 2>/dev/null)"
fi

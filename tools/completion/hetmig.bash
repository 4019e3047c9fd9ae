# SPDX-License-Identifier: GPL-2.0
# bash completion for hetmig: its commands, each command's options (as its
# usage message names them: user/src/cmd_*.cpp; tools/test/install-test
# checks every option of every usage is offered), pids where a command
# takes a PID, files where it takes an image, a key or another file.
# Installed as share/bash-completion/completions/hetmig (make install).

# Options that take a value, so that the word after one is no positional.
_hetmig_takes_value() { # OPTION
	case $1 in
	--key | --listen | --timeout | --park-timeout | --at-point | --max-points | \
	--user | --group | --stdin | --output | --to | --from-build | --to-build | -o | \
	--ghost-limit)
		return 0 ;;
	esac
	return 1
}

_hetmig_options() { # COMMAND: its options
	case $1 in
	version) echo --json ;;
	inspect) echo --frames --parked --json ;;
	send) echo --key --keep --no-compress --timeout --park-timeout --at-point \
		--max-points --parked --every-point --live --max-rounds --max-precopy \
		--dirty-tracking --max-downtime --lazy --ghost-limit ;;
	recv) echo --listen --key --once --timeout --allow-root --user --group --no-pid \
		--stdin --output --wait ;;
	dump) echo -o --keep --compress --park --ghost-limit ;;
	restore) echo --allow-root --user --group --no-pid --stdin --output --wait ;;
	check) echo --json ;;
	convert) echo --to -o --from-build --to-build --json ;;
	esac
}

# What the Nth positional argument of COMMAND is: pid, host, file or none.
_hetmig_positional() { # COMMAND N
	case $1:$2 in
	inspect:1 | freeze:1 | thaw:1 | send:1 | dump:1) echo pid ;;
	send:2) echo host ;;
	keygen:1 | restore:1 | check:1 | check:2 | convert:1) echo file ;;
	*) echo none ;;
	esac
}

_hetmig_pids() {
	local p pids=()
	for p in /proc/[0-9]*; do pids+=("${p#/proc/}"); done
	mapfile -t COMPREPLY < <(compgen -W "${pids[*]}" -- "$1")
}

_hetmig_files() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

_hetmig() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W "version inspect freeze thaw send recv
			keygen dump restore check convert help --help --version" -- "$cur")
		return
	fi
	local cmd=${COMP_WORDS[1]}
	case $prev in
	--key | --stdin | --output | --from-build | --to-build | -o)
		_hetmig_files "$cur"; return ;;
	--to)
		mapfile -t COMPREPLY < <(compgen -W "x86_64 aarch64" -- "$cur"); return ;;
	--dirty-tracking)
		mapfile -t COMPREPLY < <(compgen -W "soft-dirty hash" -- "$cur"); return ;;
	esac
	# The other values are numbers or an address: nothing to offer.
	_hetmig_takes_value "$prev" && return
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_hetmig_options "$cmd")" -- "$cur")
		return
	fi
	# Which positional argument this word is: the words before it that are
	# neither options nor their values.
	local i n=0 w
	for ((i = 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			_hetmig_takes_value "$w" && i=$((i + 1))
			continue
		fi
		n=$((n + 1))
	done
	case $(_hetmig_positional "$cmd" $((n + 1))) in
	pid) _hetmig_pids "$cur" ;;
	host)
		if declare -F _known_hosts_real >/dev/null; then
			_known_hosts_real -- "$cur"
		else
			mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur")
		fi ;;
	file) _hetmig_files "$cur" ;;
	esac
}
complete -F _hetmig hetmig

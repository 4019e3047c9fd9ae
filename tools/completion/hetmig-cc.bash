# SPDX-License-Identifier: GPL-2.0
# bash completion for hetmig-cc: its own options (tools/hetmig-cc, its
# --help) and the cc options it takes, sources and hetmig-cc -c objects as
# inputs, files after -o and folders after -I. Installed as
# share/bash-completion/completions/hetmig-cc (make install).
_hetmig_cc() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-o)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
	-I)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
	-D | -U | -include | -l) return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "--strict --no-auto-points --no-plugin
			--keep --build-plugin --help -v -c -o -I -D -U -include -l -lm -pthread
			-O0 -O1 -O2 -Os -std=c11 -std=gnu11 -std=c17 -std=gnu17" -- "$cur")
		return
	fi
	# Inputs: .c, .s, .S and hetmig-cc -c objects; folders to walk into.
	local f
	compopt -o filenames 2>/dev/null
	while IFS= read -r f; do
		[[ -d $f || $f == *.[csSo] ]] && COMPREPLY+=("$f")
	done < <(compgen -f -- "$cur")
}
complete -F _hetmig_cc hetmig-cc

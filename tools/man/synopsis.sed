# SPDX-License-Identifier: GPL-2.0
# Usage lines (tools/man/usages, tools/man/cc-usages) as roff for a
# SYNOPSIS (make man): one usage a paragraph, the program and hetmig's
# command in bold, the rest as the program prints it, wrapped lines
# indented under it, neither hyphenated nor stretched to the margin.
1i .na\n.nh\n.in +4n
$a .in\n.hy\n.ad
s/\\/\\e/g
s/-/\\-/g
# An option and its value stay on one line.
s/\(\\-[a-z0-9\\-]*\) \([A-Z]\)/\1\\ \2/g
s/^\(hetmig\) \([a-z][a-z]*\) \(.*\)$/.ti -4n\n.B \1 \2\n\\\&\3/
s/^\(hetmig\) \([a-z][a-z]*\)$/.ti -4n\n.B \1 \2/
s/^\(hetmig\(\\-cc\)\{0,1\}\) \(.*\)$/.ti -4n\n.B \1\n\\\&\3/

// SPDX-License-Identifier: GPL-2.0
//
// hetmig's GCC plugin: makes the state at a call site the same, and described,
// on both builds of a hetmig-cc program (Documentation/heterogeneous.md,
// "The plugin"). Built once per compiler (gcc, aarch64-linux-gnu-gcc) against
// that compiler's plugin headers; hetmig-cc loads it with -fplugin=.
//
// 1. Argument order (before genericization). gcc evaluates a call's
//    arguments right to left on x86_64 (PUSH_ARGS_REVERSED) and left to
//    right on aarch64, so `printf("%d %d", f(x), g(y))` calls f first on one
//    ISA and g first on the other: the same call site would have different
//    values live. The plugin evaluates the arguments with side effects or
//    calls left to right on both, each into a SAVE_EXPR ahead of the call;
//    the others are read at the call.
//
// 2. Homes for temporaries (a GIMPLE pass after "optimized", just before
//    expansion; -O0 only). A value that is live across a call but belongs
//    to no user variable (`fib(n - 1)` waiting for `fib(n - 2)`) becomes,
//    at -O0, a pseudo that the register allocator keeps in a callee-saved
//    register, which no DWARF variable describes. The plugin gives each
//    such value a named artificial local variable in the function's
//    outermost scope, hetmig.t.LINE.COL[.K][.CALLEE] after the statement
//    that computes it, not DECL_IGNORED_P, so that at -O0 it lives in the
//    frame and DWARF describes its location; a compiler temporary that is
//    in memory across a call (an aggregate) is named hetmig.m.... The names
//    depend only on the source, so both builds name a temporary alike, and
//    the verifier and the converter match it like any local (by name;
//    gcc gives artificial variables no declaration line).
//
// Options: -fplugin-arg-hetmig_plugin-verbose (each home on stderr),
// -fplugin-arg-hetmig_plugin-no-order, -fplugin-arg-hetmig_plugin-no-homes,
// ...-no-names, -no-saves, -no-points, -no-leaves (each part off), and
// ...-leaves-only (part 7 alone, for a plain build that counts entries;
// -leaves-only=optimized counts for a build at -O1 or above).

#include "gcc-plugin.h"
#include "plugin-version.h"
#include "coretypes.h"
#include "backend.h"
#include "tree.h"
#include "gimple.h"
#include "tree-pass.h"
#include "ssa.h"
#include "gimple-iterator.h"
#include "stringpool.h"
#include "context.h"
#include "gimple-walk.h"
#include "tree-cfg.h"
#include "cfgloop.h"
#include "rtl.h"
#include "cgraph.h"
#include "attribs.h"
#include "tree-ssa-loop-niter.h"
#include "tree-vectorizer.h"
#include "cfghooks.h"
#include "tree-ssa.h"
#include "gimple-ssa.h"
#include "ggc.h"
#include "tree-into-ssa.h"
#include "tree-ssanames.h"
#include "ssa-iterators.h"
#include "stringpool.h"

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

int plugin_is_GPL_compatible;

#ifndef HETMIG_PLUGIN_TARGET
#error "build with -DHETMIG_PLUGIN_TARGET=\"$(CC -dumpmachine)\""
#endif

namespace {

const char *plugin_name = "hetmig_plugin";
bool verbose = false;

struct plugin_info info = {
	"1",
	"hetmig: one order of argument evaluation on every ISA, and a named frame "
	"home for every value live across a call",
};

// ---------------------------------------------------------------------------
// 1. Argument order

bool is_undeclared_builtin(tree fn)
{
	return fn && TREE_CODE(fn) == FUNCTION_DECL && fndecl_built_in_p(fn) &&
	       DECL_IS_UNDECLARED_BUILTIN(fn);
}

tree order_arguments_r(tree *tp, int *walk_subtrees, void *data);

tree find_call_r(tree *tp, int *walk_subtrees, void *)
{
	if (TYPE_P(*tp))
		*walk_subtrees = 0;
	return TREE_CODE(*tp) == CALL_EXPR ? *tp : NULL_TREE;
}

// An argument whose evaluation order can be seen: it has side effects or
// calls something (a const function such as __errno_location has no side
// effects, but a value computed before it would be live across it).
bool is_ordered(tree arg)
{
	return TREE_SIDE_EFFECTS(arg) || walk_tree_without_duplicates(&arg, find_call_r, nullptr);
}

// Rewrite CALL so that its arguments with side effects or calls are
// evaluated left to right, each into a SAVE_EXPR, before the call; the
// others are then read at the call, after all of those, on both ISAs (in an
// order that does not matter: they call nothing and change nothing).
void order_call(tree *tp, hash_set<tree> *seen)
{
	tree call = *tp;
	int n = call_expr_nargs(call);
	for (int i = 0; i < n; i++)
		walk_tree(&CALL_EXPR_ARG(call, i), order_arguments_r, seen, seen);
	walk_tree(&CALL_EXPR_FN(call), order_arguments_r, seen, seen);
	if (n < 2 || !CALL_EXPR_FN(call) || CALL_EXPR_VA_ARG_PACK(call))
		return;
	if (is_undeclared_builtin(get_callee_fndecl(call)))
		return; // __builtin_va_start & co. take their operands as they are
	int effects = 0, others = 0;
	for (int i = 0; i < n; i++) {
		tree a = CALL_EXPR_ARG(call, i);
		if (is_ordered(a))
			effects++;
		else if (!TREE_CONSTANT(a))
			others++;
	}
	// One argument with side effects and only constants besides: no order
	// to see.
	if (effects == 0 || (effects == 1 && others == 0))
		return;
	std::vector<tree> saved;
	for (int i = 0; i < n; i++) {
		tree a = CALL_EXPR_ARG(call, i);
		if (!is_ordered(a) || TREE_TYPE(a) == error_mark_node ||
		    TREE_ADDRESSABLE(TREE_TYPE(a)))
			continue;
		tree s = save_expr(a);
		if (s == a)
			continue;
		CALL_EXPR_ARG(call, i) = s;
		saved.push_back(s);
	}
	if (saved.empty())
		return;
	location_t loc = EXPR_LOCATION(call);
	tree out = call;
	for (auto it = saved.rbegin(); it != saved.rend(); ++it)
		out = build2_loc(loc, COMPOUND_EXPR, TREE_TYPE(call), *it, out);
	*tp = out;
}

tree order_arguments_r(tree *tp, int *walk_subtrees, void *data)
{
	auto *seen = static_cast<hash_set<tree> *>(data);
	if (TYPE_P(*tp)) {
		*walk_subtrees = 0;
		return NULL_TREE;
	}
	// walk_tree has put *TP in SEEN: a shared CALL_EXPR is rewritten once.
	if (TREE_CODE(*tp) == CALL_EXPR) {
		*walk_subtrees = 0;
		order_call(tp, seen);
	}
	return NULL_TREE;
}

// ---------------------------------------------------------------------------
// 7. Leaf functions inlined
//
// A function that calls nothing and has no loop can never be on the stack
// of a parked process: nothing in it reaches a migration point. Its entry
// hook is dropped and gcc inlines it everywhere (always_inline; hetmig-cc
// builds with -fno-inline otherwise), so no call site is lost or added
// and its callers' loops may become call-free. EP called lcg_mul once per
// random number: 940 million instructions of call, frame and entry check
// at class S, 1.47x gcc -O2's whole run. The decision is taken on the
// front end's GENERIC, which is the same tree on both ISAs: no call but
// to a leaf defined before it (builtins neither: one may become a call on
// one ISA only), no label whose address is taken, no asm, no long double
// arithmetic (libgcc calls on aarch64 only), no variable-length
// type, not variadic, at most kLeafNodes tree nodes.
//
// With optimization, a leaf may loop too (a loop leaf), if it is static
// and referred to once in the unit: its loops then become loops of its
// one caller and get their points there (part 6), which bounds the wait
// for a move as the entry hook did; the points are sites of the caller,
// inside a DW_TAG_inlined_subroutine the verifier reads like any scope.
// FT's fft_line, called for every line of the grid, ran 4 % of FT's time
// in calls, frames and entry checks. Inlined twice, a loop's point would
// be two sites of one location in one function, which no name tells
// apart (CG's multiply): a second reference, seen while later functions
// are parsed (gcc gimplifies none before the unit ends), undoes the
// decision, and that of every leaf that counted on it. At -O0 there are
// no loop points, so a loop leaf keeps its call and its entry point.
constexpr unsigned kLeafNodes = 200;

bool leaf_refuses_type(tree type)
{
	if (!type)
		return false;
	// double complex multiplies and divides call libgcc's __muldc3 and
	// __divdc3 on both ISAs alike; those call no program code.
	if (TREE_CODE(type) == COMPLEX_TYPE)
		type = TREE_TYPE(type);
	return TREE_CODE(type) == REAL_TYPE && TYPE_PRECISION(type) > 64;
}

// The leaves of this unit found so far: a function whose only calls are
// to these is a leaf too once they are inlined into it (randlc calls
// lcg_mul). Functions are genericized in the order they are defined, so
// a leaf must come before its callers.
struct Leaf {
	unsigned nodes = 0;          // its leaves' counted in
	bool loops = false;          // it or a leaf it calls has a loop
	unsigned references = 0;     // loop leaves: calls and addresses seen
	tree attributes = NULL_TREE; // DECL_ATTRIBUTES before always_inline
	bool declared_inline = false;
	std::vector<tree> dependents; // leaves that call it
};
std::map<tree, Leaf> leaves;

// Whether leaves may loop: with optimization (loop points), or when
// leaves-only counts for an optimized build (leaves-only=optimized).
bool leaves_may_loop = false;

struct LeafScan {
	unsigned nodes = 0;
	bool loops = false;
	std::vector<tree> callees;
};

tree leaf_scan_r(tree *tp, int *walk_subtrees, void *data)
{
	auto *scan = static_cast<LeafScan *>(data);
	tree t = *tp;
	if (TYPE_P(t)) {
		*walk_subtrees = 0;
		return NULL_TREE;
	}
	if (++scan->nodes > kLeafNodes)
		return t;
	if (TREE_CODE(t) == CALL_EXPR) {
		tree callee = get_callee_fndecl(t);
		auto leaf = callee ? leaves.find(callee) : leaves.end();
		if (leaf == leaves.end())
			return t;
		scan->nodes += leaf->second.nodes;
		scan->loops |= leaf->second.loops;
		scan->callees.push_back(callee);
		return scan->nodes > kLeafNodes ? t : NULL_TREE;
	}
	const char *code = get_tree_code_name(TREE_CODE(t));
	static const char *const refused[] = {"call_expr", "va_arg_expr", "asm_expr"};
	static const char *const looping[] = {
		"loop_expr", "goto_expr", "label_expr", "label_decl", "for_stmt",
		"while_stmt", "do_stmt", "continue_stmt",
	};
	for (const char *r : refused)
		if (!strcmp(code, r))
			return t;
	for (const char *r : looping) {
		if (strcmp(code, r))
			continue;
		if (!leaves_may_loop)
			return t;
		scan->loops = true;
	}
	// A computed goto, or a label another function may jump to.
	if (TREE_CODE(t) == GOTO_EXPR && TREE_CODE(GOTO_DESTINATION(t)) != LABEL_DECL)
		return t;
	if (TREE_CODE(t) == LABEL_DECL && (FORCED_LABEL(t) || DECL_NONLOCAL(t)))
		return t;
	if (DECL_P(t) && TREE_TYPE(t) && variably_modified_type_p(TREE_TYPE(t), NULL_TREE))
		return t;
	if (CAN_HAVE_LOCATION_P(t) || DECL_P(t))
		if (leaf_refuses_type(TREE_TYPE(t)))
			return t;
	return NULL_TREE;
}

void inline_if_leaf(tree fndecl)
{
	if (!strcmp(IDENTIFIER_POINTER(DECL_NAME(fndecl)), "main") ||
	    stdarg_p(TREE_TYPE(fndecl)) || DECL_NO_INSTRUMENT_FUNCTION_ENTRY_EXIT(fndecl) ||
	    lookup_attribute("noinline", DECL_ATTRIBUTES(fndecl)) ||
	    lookup_attribute("noipa", DECL_ATTRIBUTES(fndecl)) ||
	    leaf_refuses_type(TREE_TYPE(TREE_TYPE(fndecl))))
		return;
	for (tree arg = DECL_ARGUMENTS(fndecl); arg; arg = DECL_CHAIN(arg))
		if (leaf_refuses_type(TREE_TYPE(arg)))
			return;
	LeafScan scan;
	if (walk_tree_without_duplicates(&DECL_SAVED_TREE(fndecl), leaf_scan_r, &scan))
		return;
	if (scan.loops && TREE_PUBLIC(fndecl))
		return;  // other units may call it too
	Leaf &leaf = leaves[fndecl];
	leaf.nodes = scan.nodes;
	leaf.loops = scan.loops;
	leaf.attributes = DECL_ATTRIBUTES(fndecl);
	leaf.declared_inline = DECL_DECLARED_INLINE_P(fndecl);
	for (tree callee : scan.callees)
		leaves[callee].dependents.push_back(fndecl);
	DECL_NO_INSTRUMENT_FUNCTION_ENTRY_EXIT(fndecl) = 1;
	DECL_DISREGARD_INLINE_LIMITS(fndecl) = 1;
	DECL_DECLARED_INLINE_P(fndecl) = 1;  // else gcc warns that it might not inline it
	DECL_ATTRIBUTES(fndecl) = tree_cons(get_identifier("always_inline"), NULL_TREE,
					    DECL_ATTRIBUTES(fndecl));
	if (verbose)
		fprintf(stderr, "hetmig plugin: %s is a %sleaf (%u nodes): inlined, no entry point\n",
			IDENTIFIER_POINTER(DECL_NAME(fndecl)), scan.loops ? "loop " : "",
			scan.nodes);
}

// FNDECL is no leaf after all (a loop leaf referred to twice): its call
// and entry point come back, and every leaf that inlined it is undone too.
void unleaf(tree fndecl)
{
	auto it = leaves.find(fndecl);
	if (it == leaves.end())
		return;
	Leaf leaf = std::move(it->second);
	leaves.erase(it);
	DECL_NO_INSTRUMENT_FUNCTION_ENTRY_EXIT(fndecl) = 0;
	DECL_DISREGARD_INLINE_LIMITS(fndecl) = 0;
	DECL_DECLARED_INLINE_P(fndecl) = leaf.declared_inline;
	DECL_ATTRIBUTES(fndecl) = leaf.attributes;
	if (verbose)
		fprintf(stderr, "hetmig plugin: %s is referred to twice: not inlined, entry point kept\n",
			IDENTIFIER_POINTER(DECL_NAME(fndecl)));
	for (tree d : leaf.dependents)
		unleaf(d);
}

// Counts the references of FNDECL's body to loop leaves; a second one
// undoes the leaf. A call's function is an ADDR_EXPR like any other use
// of a function's address.
tree count_references_r(tree *tp, int *walk_subtrees, void *)
{
	tree t = *tp;
	if (TYPE_P(t)) {
		*walk_subtrees = 0;
		return NULL_TREE;
	}
	if (TREE_CODE(t) != ADDR_EXPR || TREE_CODE(TREE_OPERAND(t, 0)) != FUNCTION_DECL)
		return NULL_TREE;
	auto it = leaves.find(TREE_OPERAND(t, 0));
	if (it != leaves.end() && it->second.loops && ++it->second.references > 1)
		unleaf(it->first);
	return NULL_TREE;
}

bool order_arguments = true, inline_leaves = true;

void pre_genericize(void *gcc_data, void *)
{
	tree fndecl = static_cast<tree>(gcc_data);
	if (!fndecl || TREE_CODE(fndecl) != FUNCTION_DECL || !DECL_SAVED_TREE(fndecl))
		return;
	if (inline_leaves) {
		inline_if_leaf(fndecl);
		// walk_tree, not without duplicates: each call is a reference.
		walk_tree(&DECL_SAVED_TREE(fndecl), count_references_r, nullptr, nullptr);
	}
	if (!order_arguments)
		return;
	hash_set<tree> seen;
	walk_tree(&DECL_SAVED_TREE(fndecl), order_arguments_r, &seen, &seen);
}

// ---------------------------------------------------------------------------
// 2. Homes for values live across a call

// A call that can be on the stack at a migration point: not an internal
// function, not a __builtin_ the program did not declare (expanded in line,
// or a libc leaf), not -finstrument-functions' calls (the verifier never
// counts them either).
bool is_real_call(gimple *g)
{
	if (!is_gimple_call(g) || gimple_call_internal_p(g))
		return false;
	tree fn = gimple_call_fndecl(g);
	if (!fn)
		return true;
	if (is_undeclared_builtin(fn))
		return false;
	const char *name = DECL_NAME(fn) ? IDENTIFIER_POINTER(DECL_NAME(fn)) : "";
	return strcmp(name, "__cyg_profile_func_enter") && strcmp(name, "__cyg_profile_func_exit");
}

// A value of no user variable: an anonymous SSA name or one of a
// compiler temporary the debug info ignores.
bool is_temporary(tree name)
{
	if (TREE_CODE(name) != SSA_NAME || virtual_operand_p(name) ||
	    SSA_NAME_IS_DEFAULT_DEF(name))
		return false;
	tree var = SSA_NAME_VAR(name);
	if (!var)
		return true;
	return TREE_CODE(var) == VAR_DECL && DECL_IGNORED_P(var) && !TREE_STATIC(var);
}

// Scan G's block backwards from just before G (or from the block's end when
// G is null) for a call, stopping at DEF. *REACHED is set when DEF was met.
bool call_before(basic_block bb, gimple *from, gimple *def, bool *reached)
{
	gimple_stmt_iterator gsi;
	if (from) {
		gsi = gsi_for_stmt(from);
		gsi_prev(&gsi);
	} else {
		gsi = gsi_last_bb(bb);
	}
	for (; !gsi_end_p(gsi); gsi_prev(&gsi)) {
		gimple *g = gsi_stmt(gsi);
		if (g == def) {
			*reached = true;
			return false;
		}
		if (is_real_call(g))
			return true;
	}
	*reached = false;
	return false;
}

// Whether a call lies on some path from NAME's definition to a use.
bool live_across_call(tree name)
{
	gimple *def = SSA_NAME_DEF_STMT(name);
	basic_block def_bb = gimple_bb(def);
	if (!def_bb)
		return false;
	gimple *def_stmt = gimple_code(def) == GIMPLE_PHI ? nullptr : def;
	std::vector<basic_block> work;
	std::vector<bool> queued(last_basic_block_for_fn(cfun), false);
	auto start = [&](basic_block bb, gimple *from) {
		bool reached;
		if (call_before(bb, from, def_stmt, &reached))
			return true;
		if (!reached && bb != def_bb) {
			edge e;
			edge_iterator ei;
			FOR_EACH_EDGE(e, ei, bb->preds)
				if (!queued[e->src->index] && e->src->index >= NUM_FIXED_BLOCKS) {
					queued[e->src->index] = true;
					work.push_back(e->src);
				}
		}
		return false;
	};
	imm_use_iterator it;
	use_operand_p use;
	FOR_EACH_IMM_USE_FAST(use, it, name) {
		gimple *u = USE_STMT(use);
		if (is_gimple_debug(u))
			continue;
		if (gphi *phi = dyn_cast<gphi *>(u)) {
			// Used at the end of the predecessor the value comes from.
			for (unsigned i = 0; i < gimple_phi_num_args(phi); i++)
				if (gimple_phi_arg_def(phi, i) == name) {
					basic_block src = gimple_phi_arg_edge(phi, i)->src;
					if (src->index >= NUM_FIXED_BLOCKS && start(src, nullptr))
						return true;
				}
			continue;
		}
		if (start(gimple_bb(u), u))
			return true;
	}
	while (!work.empty()) {
		basic_block bb = work.back();
		work.pop_back();
		if (start(bb, nullptr))
			return true;
	}
	return false;
}

struct Webs {
	std::vector<unsigned> parent;
	unsigned find(unsigned v)
	{
		while (parent[v] != v)
			v = parent[v] = parent[parent[v]];
		return v;
	}
	void join(unsigned a, unsigned b) { parent[find(a)] = find(b); }
};

// What a value is, from the statement that computes it: its operation and
// operands (user variables by name, constants by value, temporaries by what
// computes them, a few levels deep). Not SSA version numbers, nor the order
// of statements: gcc gimplifies a call's plain arguments right to left on
// x86_64 and left to right on aarch64, so `walk(depth - 1, acc ^ depth)`
// computes its two temporaries in opposite orders on the two ISAs, at one
// location. Named by order alone, each name would mean the other value on
// the other ISA.
std::string operand_signature(tree t, int depth);

// A variable by name; one of an inlined function's body (a leaf's, item
// 7) as name'function: FT's fft_dimension has a `stride` of its own and,
// with fft_line inlined, fft_line's.
std::string variable_label(tree var)
{
	std::string out = IDENTIFIER_POINTER(DECL_NAME(var));
	tree origin = DECL_ORIGIN(var);
	tree fn = origin != var ? DECL_CONTEXT(origin) : NULL_TREE;
	if (fn && TREE_CODE(fn) == FUNCTION_DECL && fn != current_function_decl &&
	    DECL_NAME(fn))
		out += std::string("'") + IDENTIFIER_POINTER(DECL_NAME(fn));
	return out;
}

std::string statement_signature(gimple *g, int depth)
{
	if (!g || depth <= 0)
		return "?";
	std::string out;
	if (is_gimple_assign(g) && CONVERT_EXPR_CODE_P(gimple_assign_rhs_code(g)))
		return operand_signature(gimple_assign_rhs1(g), depth);
	if (is_gimple_assign(g)) {
		tree_code code = gimple_assign_rhs_code(g);
		std::vector<std::string> ops;
		for (unsigned i = 1; i < gimple_num_ops(g); i++)
			ops.push_back(operand_signature(gimple_op(g, i), depth - 1));
		// One spelling for what the targets' late passes spell
		// differently: aarch64 fuses (long) a * b + c into
		// WIDEN_MULT_PLUS_EXPR; operands of commutative codes come in
		// either order.
		if (code == WIDEN_MULT_PLUS_EXPR && ops.size() == 3) {
			std::vector<std::string> m = {ops[0], ops[1]};
			std::sort(m.begin(), m.end());
			ops = {"(mult_expr," + m[0] + "," + m[1] + ")", ops[2]};
			code = PLUS_EXPR;
		}
		if (code == WIDEN_MULT_EXPR)
			code = MULT_EXPR;
		if (commutative_tree_code(code))
			std::sort(ops.begin(), ops.end());
		out = get_tree_code_name(code);
		for (const auto &o : ops)
			out += "," + o;
	} else if (is_gimple_call(g)) {
		tree fn = gimple_call_fndecl(g);
		out = std::string("call:") +
		      (fn && DECL_NAME(fn) ? IDENTIFIER_POINTER(DECL_NAME(fn)) : "?");
		for (unsigned i = 0; i < gimple_call_num_args(g); i++)
			out += "," + operand_signature(gimple_call_arg(g, i), depth - 1);
	} else if (gimple_code(g) == GIMPLE_PHI) {
		std::vector<std::string> args;
		for (unsigned i = 0; i < gimple_phi_num_args(g); i++)
			args.push_back(operand_signature(gimple_phi_arg_def(g, i), depth - 1));
		std::sort(args.begin(), args.end());  // edge order is the CFG's
		out = "phi";
		for (const auto &a : args)
			out += "," + a;
	} else {
		out = gimple_code_name[gimple_code(g)];
	}
	return out;
}

std::string operand_signature(tree t, int depth)
{
	if (!t)
		return "-";
	switch (TREE_CODE(t)) {
	case SSA_NAME: {
		gimple *d = SSA_NAME_DEF_STMT(t);
		if (is_gimple_assign(d) && CONVERT_EXPR_CODE_P(gimple_assign_rhs_code(d)))
			return operand_signature(gimple_assign_rhs1(d), depth);
		tree var = SSA_NAME_VAR(t);
		if (var && DECL_NAME(var) && !(TREE_CODE(var) == VAR_DECL && DECL_IGNORED_P(var)))
			return variable_label(var);
		return "(" + statement_signature(SSA_NAME_DEF_STMT(t), depth) + ")";
	}
	case INTEGER_CST:
		return tree_fits_shwi_p(t) ? std::to_string(tree_to_shwi(t)) : "int";
	case VAR_DECL:
	case PARM_DECL:
	case FUNCTION_DECL:
		return DECL_NAME(t) ? variable_label(t) : "decl";
	case FIELD_DECL:
		return DECL_NAME(t) ? IDENTIFIER_POINTER(DECL_NAME(t)) : "decl";
	default:
		break;
	}
	if (CONVERT_EXPR_P(t))
		return operand_signature(TREE_OPERAND(t, 0), depth);
	std::string out = get_tree_code_name(TREE_CODE(t));
	if (depth > 0 && EXPR_P(t))
		for (int i = 0; i < TREE_OPERAND_LENGTH(t); i++)
			out += "," + operand_signature(TREE_OPERAND(t, i), depth - 1);
	return out;
}

// FNV-1a, 32 bits, as 8 hex digits.
std::string short_hash(const std::string &text)
{
	uint32_t h = 2166136261u;
	for (unsigned char c : text)
		h = (h ^ c) * 16777619u;
	char buf[9];
	snprintf(buf, sizeof(buf), "%08x", h);
	return buf;
}

// hetmig.KIND.LINE.COL[.HASH][.K][.CALLEE]: HASH says what the statement
// DEF computes (statement_signature), K counts earlier names of one
// location and hash, CALLEE names the function whose result it holds (one
// more thing both builds must agree on before the verifier pairs them).
std::string home_name(location_t loc, std::map<std::string, int> &used,
		      const char *kind = "t", gimple *def = nullptr)
{
	expanded_location x = expand_location(loc);
	std::string out = "hetmig." + std::string(kind) + "." + std::to_string(x.line) + "." +
			  std::to_string(x.column);
	if (def)
		out += "." + short_hash(statement_signature(def, 4));
	int k = used[out]++;
	if (k)
		out += "." + std::to_string(k);
	tree fn = def && is_gimple_call(def) ? gimple_call_fndecl(def) : NULL_TREE;
	if (fn && DECL_NAME(fn))
		out += std::string(".") + IDENTIFIER_POINTER(DECL_NAME(fn));
	return out;
}

void add_to_outermost_block(function *fun, tree var);

tree make_home(function *fun, tree type, const std::string &name, location_t loc)
{
	tree var = build_decl(loc, VAR_DECL, get_identifier(name.c_str()), type);
	DECL_ARTIFICIAL(var) = 1;
	DECL_IGNORED_P(var) = 0;
	TREE_USED(var) = 1;
	DECL_CONTEXT(var) = fun->decl;
	DECL_SEEN_IN_BIND_EXPR_P(var) = 1;
	add_local_decl(fun, var);
	// In the outermost scope, so that it is in scope at every call site.
	add_to_outermost_block(fun, var);
	return var;
}

// A compiler temporary in memory (an aggregate, or one whose address is
// taken): it has a frame slot at every level, but no DWARF variable.
bool is_memory_temporary(tree var)
{
	return var && TREE_CODE(var) == VAR_DECL && DECL_IGNORED_P(var) && !TREE_STATIC(var) &&
	       !DECL_EXTERNAL(var) && !is_gimple_reg(var) && !DECL_HAS_VALUE_EXPR_P(var);
}

bool note_reference(gimple *, tree base, tree, void *data)
{
	auto *refs = static_cast<std::vector<tree> *>(data);
	if (base && DECL_P(base))
		refs->push_back(base);
	return false;
}

// The memory temporaries G reads, writes or takes the address of.
std::vector<tree> memory_temporaries_of(gimple *g)
{
	std::vector<tree> refs, out;
	walk_stmt_load_store_addr_ops(g, &refs, note_reference, note_reference, note_reference);
	for (tree v : refs)
		if (is_memory_temporary(v))
			out.push_back(v);
	return out;
}

bool references(gimple *g, tree var)
{
	for (tree v : memory_temporaries_of(g))
		if (v == var)
			return true;
	return false;
}

bool note_address(gimple *, tree base, tree, void *data)
{
	auto *refs = static_cast<std::vector<tree> *>(data);
	if (base && DECL_P(base))
		refs->push_back(base);
	return false;
}

bool address_taken(gimple *g, tree var)
{
	std::vector<tree> refs;
	walk_stmt_load_store_addr_ops(g, &refs, nullptr, nullptr, note_address);
	for (tree v : refs)
		if (v == var)
			return true;
	return false;
}

// Whether some path goes from a reference of VAR through a call to another
// reference of it (REFS: the statements that reference it).
bool memory_live_across_call(const std::vector<gimple *> &refs, tree var)
{
	// State at a point: 1 a reference was seen, 2 and then a call.
	std::vector<int> seen(last_basic_block_for_fn(cfun), 0);
	std::vector<std::pair<basic_block, int>> work;
	auto scan = [&](basic_block bb, gimple_stmt_iterator gsi, int state) {
		for (; !gsi_end_p(gsi); gsi_next(&gsi)) {
			gimple *g = gsi_stmt(gsi);
			if (is_gimple_debug(g))
				continue;
			bool ref = references(g, var);
			if (ref && state == 2)
				return true;
			// A call given its address uses it while it runs.
			if (ref && is_real_call(g) && address_taken(g, var))
				return true;
			if (ref)
				state = 1;
			else if (state && is_real_call(g))
				state = 2;
		}
		edge e;
		edge_iterator ei;
		FOR_EACH_EDGE(e, ei, bb->succs)
			if (e->dest->index >= NUM_FIXED_BLOCKS && (seen[e->dest->index] & state) != state) {
				seen[e->dest->index] |= state;
				work.push_back({e->dest, state});
			}
		return false;
	};
	for (gimple *r : refs) {
		if (is_real_call(r) && address_taken(r, var))
			return true;
		gimple_stmt_iterator gsi = gsi_for_stmt(r);
		int state = 1;
		gsi_next(&gsi);
		if (scan(gimple_bb(r), gsi, state))
			return true;
	}
	while (!work.empty()) {
		auto [bb, state] = work.back();
		work.pop_back();
		if (scan(bb, gsi_start_bb(bb), state))
			return true;
	}
	return false;
}

bool in_blocks(tree block, tree var)
{
	for (; block; block = BLOCK_CHAIN(block)) {
		for (tree v = BLOCK_VARS(block); v; v = DECL_CHAIN(v))
			if (v == var)
				return true;
		if (in_blocks(BLOCK_SUBBLOCKS(block), var))
			return true;
	}
	return false;
}

void add_to_outermost_block(function *fun, tree var)
{
	tree block = DECL_INITIAL(fun->decl);
	if (!block || TREE_CODE(block) != BLOCK || in_blocks(block, var))
		return;
	tree *p = &BLOCK_VARS(block);
	while (*p)
		p = &DECL_CHAIN(*p);
	*p = var;
	DECL_CHAIN(var) = NULL_TREE;
}

const pass_data homes_pass_data = {
	GIMPLE_PASS,
	"hetmig_homes",
	OPTGROUP_NONE,
	TV_NONE,
	PROP_ssa | PROP_cfg,
	0,
	0,
	0,
	0,
};

class homes_pass : public gimple_opt_pass {
public:
	homes_pass(gcc::context *ctxt) : gimple_opt_pass(homes_pass_data, ctxt) {}
	// -O0 only: there both compilers reach expansion with the same GIMPLE
	// (statement for statement, once the argument order is one), so a name
	// made from the source means one value on both. Optimized GIMPLE
	// differs per target: measured at -O1, one name then stood for values
	// of different sizes on the two ISAs.
	bool gate(function *) override { return !optimize; }
	unsigned int execute(function *fun) override;
};

// Memory temporaries live across a call (`h(make_struct(), g())`) already
// have a frame slot: they get a name, hetmig.m.LINE.COL[.K] after their
// first reference, and debug info.
void name_memory_temporaries(function *fun, std::map<std::string, int> &used)
{
	std::map<tree, std::vector<gimple *>> refs;
	std::vector<tree> order;
	basic_block bb;
	FOR_EACH_BB_FN(bb, fun)
		for (gimple_stmt_iterator gsi = gsi_start_bb(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gimple *g = gsi_stmt(gsi);
			if (is_gimple_debug(g))
				continue;
			for (tree v : memory_temporaries_of(g)) {
				auto &r = refs[v];
				if (r.empty())
					order.push_back(v);
				if (r.empty() || r.back() != g)
					r.push_back(g);
			}
		}
	for (tree v : order) {
		if (!memory_live_across_call(refs[v], v))
			continue;
		gimple *first = refs[v].front();
		location_t loc = gimple_has_location(first) ? gimple_location(first)
							    : DECL_SOURCE_LOCATION(fun->decl);
		std::string hn = home_name(loc, used, "m", first);
		DECL_NAME(v) = get_identifier(hn.c_str());
		DECL_NAMELESS(v) = 0;
		DECL_IGNORED_P(v) = 0;
		DECL_ARTIFICIAL(v) = 1;
		add_to_outermost_block(fun, v);
		if (verbose) {
			expanded_location x = expand_location(loc);
			fprintf(stderr, "%s:%d:%d: %s: %s\n", x.file, x.line, x.column,
				IDENTIFIER_POINTER(DECL_NAME(fun->decl)), hn.c_str());
		}
	}
}

unsigned int homes_pass::execute(function *fun)
{
	unsigned n = num_ssa_names;
	Webs webs;
	webs.parent.resize(n);
	for (unsigned i = 0; i < n; i++)
		webs.parent[i] = i;
	basic_block bb;
	// Temporaries joined by PHIs share one home.
	FOR_EACH_BB_FN(bb, fun)
		for (gphi_iterator gsi = gsi_start_phis(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gphi *phi = gsi.phi();
			tree r = gimple_phi_result(phi);
			if (!is_temporary(r))
				continue;
			for (unsigned i = 0; i < gimple_phi_num_args(phi); i++) {
				tree a = gimple_phi_arg_def(phi, i);
				if (TREE_CODE(a) == SSA_NAME && is_temporary(a))
					webs.join(SSA_NAME_VERSION(a), SSA_NAME_VERSION(r));
			}
		}
	std::vector<bool> needs(n, false);
	for (unsigned i = 1; i < n; i++) {
		tree name = ssa_name(i);
		if (name && is_temporary(name) && live_across_call(name))
			needs[webs.find(i)] = true;
	}
	// Name each web at its first definition in block order, so that both
	// builds name it alike.
	std::map<std::string, int> used;
	std::vector<tree> home(n, NULL_TREE);
	std::vector<std::pair<tree, gimple *>> defs;
	FOR_EACH_BB_FN(bb, fun) {
		for (gimple_stmt_iterator gsi = gsi_start_bb(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gimple *g = gsi_stmt(gsi);
			tree lhs = gimple_get_lhs(g);
			if (lhs && TREE_CODE(lhs) == SSA_NAME && is_temporary(lhs))
				defs.push_back({lhs, g});
		}
	}
	// A web defined by PHIs only (rare) is named at the function.
	for (unsigned i = 1; i < n; i++) {
		tree name = ssa_name(i);
		if (name && is_temporary(name) && gimple_code(SSA_NAME_DEF_STMT(name)) == GIMPLE_PHI)
			defs.push_back({name, nullptr});
	}
	for (auto &[name, g] : defs) {
		unsigned root = webs.find(SSA_NAME_VERSION(name));
		if (!needs[root] || home[root])
			continue;
		location_t loc = g && gimple_has_location(g) ? gimple_location(g)
							       : DECL_SOURCE_LOCATION(fun->decl);
		std::string hn = home_name(loc, used, "t", g);
		home[root] = make_home(fun, TREE_TYPE(name), hn, loc);
		if (verbose) {
			expanded_location x = expand_location(loc);
			fprintf(stderr, "%s:%d:%d: %s: %s\n", x.file, x.line, x.column,
				IDENTIFIER_POINTER(DECL_NAME(fun->decl)), hn.c_str());
		}
	}
	for (unsigned i = 1; i < n; i++) {
		tree name = ssa_name(i);
		if (!name || !is_temporary(name))
			continue;
		tree h = home[webs.find(i)];
		if (h)
			replace_ssa_name_symbol(name, h);
	}
	name_memory_temporaries(fun, used);
	return 0;
}

// ---------------------------------------------------------------------------
// 3. Names for temporaries at -O1 and above (a GIMPLE pass right after
//    "ssa", while both compilers still hold the same statements).
//
// Optimized code keeps values no variable names in callee-saved registers
// across calls: `20000 * scale` hoisted out of its loop, `f(x)` waiting for
// `g(y)`. Homes would change the code; names do not. Each anonymous SSA
// value gets a debug bind to an artificial variable,
// hetmig.v.LINE.COL[.K][.CALLEE], named from the source as homes are, and
// gcc's variable tracking then says where the value lives at every call,
// through the register allocator and the passes that move it (a debug bind
// follows its value as the passes rewrite it, and -g never changes the
// code: gcc's -fcompare-debug invariant). A value moved or recomputed
// differently on one ISA shows up as a name located on one side only, which
// the verifier refuses.

const pass_data names_pass_data = {
	GIMPLE_PASS,
	"hetmig_names",
	OPTGROUP_NONE,
	TV_NONE,
	PROP_ssa | PROP_cfg,
	0,
	0,
	0,
	TODO_update_ssa_only_virtuals,
};

class names_pass : public gimple_opt_pass {
public:
	names_pass(gcc::context *ctxt) : gimple_opt_pass(names_pass_data, ctxt) {}
	bool gate(function *) override { return optimize && MAY_HAVE_DEBUG_BIND_STMTS; }
	unsigned int execute(function *fun) override;
};

// A value worth a name: computed by a statement of the program (not a PHI
// of copies only), of a type a register can hold.
bool wants_name(tree name)
{
	if (!is_temporary(name))
		return false;
	tree type = TREE_TYPE(name);
	return is_gimple_reg_type(type) && !VECTOR_TYPE_P(type) && TREE_CODE(type) != COMPLEX_TYPE &&
	       TYPE_SIZE_UNIT(type) && tree_fits_uhwi_p(TYPE_SIZE_UNIT(type)) &&
	       tree_to_uhwi(TYPE_SIZE_UNIT(type)) <= 8;
}

// -finstrument-functions' own values: the return address and anything
// used only as an argument of __cyg_profile_func_enter/exit, whose
// arguments the runtime ignores (the verifier does not count the registers
// aarch64 keeps them in either).
bool for_instrumentation_only(tree name)
{
	auto callee_is = [](gimple *g, const char *want) {
		tree fn = g && is_gimple_call(g) ? gimple_call_fndecl(g) : NULL_TREE;
		return fn && DECL_NAME(fn) && !strcmp(IDENTIFIER_POINTER(DECL_NAME(fn)), want);
	};
	if (callee_is(SSA_NAME_DEF_STMT(name), "__builtin_return_address"))
		return true;
	imm_use_iterator it;
	use_operand_p use;
	bool any = false;
	FOR_EACH_IMM_USE_FAST(use, it, name) {
		gimple *g = USE_STMT(use);
		if (is_gimple_debug(g))
			continue;
		if (!callee_is(g, "__cyg_profile_func_enter") &&
		    !callee_is(g, "__cyg_profile_func_exit"))
			return false;
		any = true;
	}
	return any;
}

unsigned int names_pass::execute(function *fun)
{
	std::map<std::string, int> used;
	basic_block bb;
	FOR_EACH_BB_FN(bb, fun) {
		// PHI results first, bound at the top of their block.
		for (gphi_iterator gsi = gsi_start_phis(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gphi *phi = gsi.phi();
			tree r = gimple_phi_result(phi);
			if (!wants_name(r))
				continue;
			location_t loc = gimple_location(phi);
			if (loc == UNKNOWN_LOCATION)
				loc = DECL_SOURCE_LOCATION(fun->decl);
			tree var = make_home(fun, TREE_TYPE(r), home_name(loc, used, "v", phi), loc);
			gimple_stmt_iterator at = gsi_after_labels(bb);
			gdebug *bind = gimple_build_debug_bind(var, r, nullptr);
			gsi_insert_before(&at, bind, GSI_SAME_STMT);
		}
		for (gimple_stmt_iterator gsi = gsi_start_bb(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gimple *g = gsi_stmt(gsi);
			if (is_gimple_debug(g) || stmt_ends_bb_p(g))
				continue;
			tree lhs = gimple_get_lhs(g);
			if (!lhs || TREE_CODE(lhs) != SSA_NAME || !wants_name(lhs) ||
			    for_instrumentation_only(lhs))
				continue;
			location_t loc = gimple_has_location(g) ? gimple_location(g)
								: DECL_SOURCE_LOCATION(fun->decl);
			std::string hn = home_name(loc, used, "v", g);
			tree var = make_home(fun, TREE_TYPE(lhs), hn, loc);
			gdebug *bind = gimple_build_debug_bind(var, lhs, g);
			gsi_insert_after(&gsi, bind, GSI_NEW_STMT);
			if (verbose) {
				expanded_location x = expand_location(loc);
				fprintf(stderr, "%s:%d:%d: %s: %s\n", x.file, x.line, x.column,
					IDENTIFIER_POINTER(DECL_NAME(fun->decl)), hn.c_str());
			}
		}
	}
	return 0;
}

// ---------------------------------------------------------------------------
// 4. Saved values at -O1 and above (a GIMPLE pass after "optimized", the
//    last before expansion).
//
// Names describe where optimized code keeps a value, but the two compilers
// keep different values: measured on the NPB kernels at -O2, under half of
// the sites had the same live state on both ISAs (ivopts' pointers on one,
// a counter on the other; a value rematerialized on one, held on the
// other). This pass makes the state at a call one that both builds share:
// every SSA value live across a call that can be on a parked stack is
// stored, right before the call, into a volatile local of its own,
// hetmig.s.SITE.HASH[.dup].CALLEE (SITE: LINE.COL of the call, or "entry"
// for -finstrument-functions' entry hook), and read back right after it;
// every later use reads the reloaded value (update_ssa places the PHIs).
// Nothing the optimizers made is then live in a register across the call
// but constants, and the saved values are frame slots that DWARF locates.
// HASH says what the value is (statement_signature, its size), so both
// builds name a value alike. A call site the optimizer duplicated (one
// location and callee twice in a function), or two values of one HASH at a
// call, cannot be paired by name: those are marked ".dup" and the verifier
// refuses such sites. Volatile, so that no RTL pass forwards the stored
// register past the call or drops the store.
//
// What one build keeps live and the other does not must not be saved, or
// the site has a value of one build only: a value computed without memory
// from other saved values (`(long) i` beside `i`, `d + 4 * slot` beside `d`
// and `slot`) is computed again after the call instead (Recomputation),
// and a widened integer whose narrow source is not live is saved as that
// source, as the other build saves it (narrow_source).

bool is_entry_hook(gimple *g)
{
	tree fn = is_gimple_call(g) ? gimple_call_fndecl(g) : NULL_TREE;
	return fn && DECL_NAME(fn) &&
	       !strcmp(IDENTIFIER_POINTER(DECL_NAME(fn)), "__cyg_profile_func_enter");
}

bool is_saving_point(gimple *g)
{
	return (is_real_call(g) || is_entry_hook(g)) && !stmt_ends_bb_p(g) &&
	       !(gimple_call_flags(g) & ECF_RETURNS_TWICE);
}

// The callee's symbol (a clone's is foo.constprop.0), empty when indirect.
std::string callee_symbol(gimple *g)
{
	tree fn = gimple_call_fndecl(g);
	if (!fn)
		return "";
	tree id = DECL_ASSEMBLER_NAME(fn);
	return id ? IDENTIFIER_POINTER(id) : "";
}

std::string site_of(gimple *g)
{
	if (is_entry_hook(g))
		return "entry";
	expanded_location x = expand_location(gimple_location(g));
	return std::to_string(x.line) + "." + std::to_string(x.column);
}

using Bits = std::vector<uint64_t>;

bool set_bit(Bits &b, unsigned i)
{
	uint64_t m = uint64_t(1) << (i % 64);
	bool was = b[i / 64] & m;
	b[i / 64] |= m;
	return !was;
}

bool test_bit(const Bits &b, unsigned i) { return b[i / 64] >> (i % 64) & 1; }

void clear_bit(Bits &b, unsigned i) { b[i / 64] &= ~(uint64_t(1) << (i % 64)); }

bool tracked(tree t)
{
	return t && TREE_CODE(t) == SSA_NAME && !virtual_operand_p(t);
}

// SSA values live across each saving point: backward dataflow over blocks,
// then each block walked backwards from its end.
std::map<gimple *, std::vector<tree>> live_across_points(function *fun)
{
	unsigned words = (num_ssa_names + 63) / 64;
	unsigned nb = last_basic_block_for_fn(fun);
	std::vector<Bits> use(nb, Bits(words)), def(nb, Bits(words)), in(nb, Bits(words)),
		phi_args(nb, Bits(words));
	basic_block bb;
	FOR_EACH_BB_FN(bb, fun) {
		unsigned b = bb->index;
		for (gphi_iterator gsi = gsi_start_phis(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gphi *phi = gsi.phi();
			if (tracked(gimple_phi_result(phi)))
				set_bit(def[b], SSA_NAME_VERSION(gimple_phi_result(phi)));
			for (unsigned i = 0; i < gimple_phi_num_args(phi); i++) {
				tree a = gimple_phi_arg_def(phi, i);
				basic_block src = gimple_phi_arg_edge(phi, i)->src;
				if (tracked(a) && src->index >= NUM_FIXED_BLOCKS)
					set_bit(phi_args[src->index], SSA_NAME_VERSION(a));
			}
		}
		for (gimple_stmt_iterator gsi = gsi_start_bb(bb); !gsi_end_p(gsi); gsi_next(&gsi)) {
			gimple *g = gsi_stmt(gsi);
			if (is_gimple_debug(g))
				continue;
			ssa_op_iter it;
			tree op;
			FOR_EACH_SSA_TREE_OPERAND(op, g, it, SSA_OP_USE)
				if (tracked(op) && !test_bit(def[b], SSA_NAME_VERSION(op)))
					set_bit(use[b], SSA_NAME_VERSION(op));
			FOR_EACH_SSA_TREE_OPERAND(op, g, it, SSA_OP_DEF)
				if (tracked(op))
					set_bit(def[b], SSA_NAME_VERSION(op));
		}
	}
	auto out_of = [&](basic_block bb) {
		Bits out = phi_args[bb->index];
		edge e;
		edge_iterator ei;
		FOR_EACH_EDGE(e, ei, bb->succs)
			if (e->dest->index >= NUM_FIXED_BLOCKS)
				for (unsigned w = 0; w < words; w++)
					out[w] |= in[e->dest->index][w];
		return out;
	};
	for (bool changed = true; changed;) {
		changed = false;
		FOR_EACH_BB_REVERSE_FN(bb, fun) {
			unsigned b = bb->index;
			Bits out = out_of(bb);
			for (unsigned w = 0; w < words; w++) {
				uint64_t v = use[b][w] | (out[w] & ~def[b][w]);
				if (v != in[b][w]) {
					in[b][w] = v;
					changed = true;
				}
			}
		}
	}
	std::map<gimple *, std::vector<tree>> out;
	FOR_EACH_BB_FN(bb, fun) {
		Bits live = out_of(bb);
		for (gimple_stmt_iterator gsi = gsi_last_bb(bb); !gsi_end_p(gsi); gsi_prev(&gsi)) {
			gimple *g = gsi_stmt(gsi);
			if (is_gimple_debug(g))
				continue;
			ssa_op_iter it;
			tree op;
			FOR_EACH_SSA_TREE_OPERAND(op, g, it, SSA_OP_DEF)
				if (tracked(op))
					clear_bit(live, SSA_NAME_VERSION(op));
			if (is_gimple_call(g) && is_saving_point(g)) {
				auto &names = out[g];
				for (unsigned i = 1; i < num_ssa_names; i++)
					if (test_bit(live, i) && ssa_name(i) &&
					    !for_instrumentation_only(ssa_name(i)))
						names.push_back(ssa_name(i));
			}
			FOR_EACH_SSA_TREE_OPERAND(op, g, it, SSA_OP_USE)
				if (tracked(op))
					set_bit(live, SSA_NAME_VERSION(op));
		}
	}
	return out;
}

// What a live value is, for its name: its variable (if any), where and how
// it is computed, and its size. Conversions are transparent and a widening
// multiplication is a multiplication: aarch64's widening_mul pass makes
// (long) n * 8 one, x86_64's does not.
std::string value_signature(tree name, bool with_location = false)
{
	// A compiler temporary's name is numbered (ivtmp.297): not the
	// same on both builds.
	tree var = SSA_NAME_VAR(name);
	std::string out = var && DECL_NAME(var) && !DECL_ARTIFICIAL(var) ? variable_label(var) : "";
	gimple *at = SSA_NAME_DEF_STMT(name);
	if (with_location && !SSA_NAME_IS_DEFAULT_DEF(name) && gimple_has_location(at)) {
		expanded_location x = expand_location(gimple_location(at));
		out += "@" + std::to_string(x.line) + "." + std::to_string(x.column);
	}
	gimple *def = SSA_NAME_DEF_STMT(name);
	out += ":" + (SSA_NAME_IS_DEFAULT_DEF(name) ? std::string("entry")
						     : statement_signature(def, 4));
	tree size = TYPE_SIZE_UNIT(TREE_TYPE(name));
	out += ":" + (size && tree_fits_uhwi_p(size) ? std::to_string(tree_to_uhwi(size))
						     : std::string("?"));
	return out;
}

// Values a point need not save: one computed, with no memory read and
// nothing that can trap, from values saved at the point (or from others
// such, a few levels deep) and constants is computed again after the
// call, from the reloaded ones. The two builds keep different such
// derivatives live: measured at -O2, x86_64 kept both `i` and `(long) i`
// across CG's loop point and aarch64 only `i`; aarch64 kept `&d->code[slot]`
// besides `d` and `slot` across lzw's put_code. Saved, each was a value of
// one build only, and the site was refused.
bool is_recomputable_code(tree_code code)
{
	switch (code) {
	case PLUS_EXPR:
	case MINUS_EXPR:
	case MULT_EXPR:
	case POINTER_PLUS_EXPR:
	case POINTER_DIFF_EXPR:
	case NEGATE_EXPR:
	case BIT_AND_EXPR:
	case BIT_IOR_EXPR:
	case BIT_XOR_EXPR:
	case BIT_NOT_EXPR:
	case LSHIFT_EXPR:
	case RSHIFT_EXPR:
	case WIDEN_MULT_EXPR:
	case WIDEN_MULT_PLUS_EXPR:  // aarch64's (long) a * b + c
	case WIDEN_MULT_MINUS_EXPR:
	case SSA_NAME:
		return true;
	default:
		return CONVERT_EXPR_CODE_P(code);
	}
}

bool is_integer_or_pointer(tree t)
{
	return INTEGRAL_TYPE_P(TREE_TYPE(t)) || POINTER_TYPE_P(TREE_TYPE(t));
}

class Recomputation {
public:
	explicit Recomputation(const std::vector<tree> &live) : live_(live.begin(), live.end()) {}

	// Whether NAME can be computed again after the call from saved
	// values: DEPTH levels of statements that are not live themselves
	// (conversions not counted). Six: an address into a grid,
	// `v + ((long) ia * sa + (long) ib * sb) * 16` (FT's `base`, live on
	// aarch64 only across the points of an inlined fft_line), is five.
	bool possible(tree name, int depth = 6)
	{
		// Known possible, or impossible with as many levels or more.
		auto known = memo_.find(name);
		if (known != memo_.end() && (known->second.first || known->second.second >= depth))
			return known->second.first;
		bool ok = false;
		gassign *a = dyn_cast<gassign *>(SSA_NAME_DEF_STMT(name));
		bool converts = a && CONVERT_EXPR_CODE_P(gimple_assign_rhs_code(a));
		if (a && depth > 0 && !gimple_vuse(a) && !gimple_has_volatile_ops(a) &&
		    !gimple_could_trap_p(a) && is_recomputable_code(gimple_assign_rhs_code(a)) &&
		    is_integer_or_pointer(name)) {
			ok = true;
			for (unsigned i = 1; ok && i < gimple_num_ops(a); i++) {
				tree op = gimple_op(a, i);
				if (TREE_CODE(op) == SSA_NAME)
					ok = is_integer_or_pointer(op) &&
					     (live_.count(op) || narrow_.count(op) ||
					      possible(op, depth - !converts));
				else
					ok = is_gimple_min_invariant(op);
			}
		}
		memo_[name] = {ok, depth};
		return ok;
	}

	bool is_live(tree name) const { return live_.count(name); }

	// NARROW, not live, is saved in a wide value's place: computations
	// may start from it too (its reload, once set_reloaded names it).
	void allow(tree narrow)
	{
		narrow_[narrow] = NULL_TREE;
		memo_.clear();
	}

	void set_reloaded(tree narrow, tree reloaded) { narrow_[narrow] = reloaded; }

	// Statements after *GSI that compute NAME again; a live NAME gets a
	// new definition that update_ssa makes its later uses read.
	tree emit(tree name, gimple_stmt_iterator *gsi, bool *first, location_t loc)
	{
		if (live_.count(name) && !memo_[name].first)
			return name;  // saved: its reload
		auto narrow = narrow_.find(name);
		if (narrow != narrow_.end())
			return narrow->second;
		auto done = emitted_.find(name);
		if (done != emitted_.end())
			return done->second;
		gimple *def = SSA_NAME_DEF_STMT(name);
		gimple *copy = gimple_copy(def);
		for (unsigned i = 1; i < gimple_num_ops(copy); i++) {
			tree op = gimple_op(copy, i);
			if (TREE_CODE(op) == SSA_NAME)
				gimple_set_op(copy, i, emit(op, gsi, first, loc));
		}
		SSA_NAME_DEF_STMT(name) = def;
		gimple_set_location(copy, loc);
		tree out = name;
		if (!live_.count(name)) {
			out = make_ssa_name(TREE_TYPE(name), copy);
			gimple_assign_set_lhs(copy, out);
		}
		insert_after(gsi, copy, first);
		if (live_.count(name))
			create_new_def_for(name, copy, gimple_assign_lhs_ptr(copy));
		emitted_[name] = out;
		return out;
	}

	static void insert_after(gimple_stmt_iterator *gsi, gimple *g, bool *first)
	{
		if (*first)
			gsi_insert_before(gsi, g, GSI_NEW_STMT);
		else
			gsi_insert_after(gsi, g, GSI_NEW_STMT);
		*first = false;
	}

private:
	std::set<tree> live_;
	std::map<tree, tree> narrow_;
	std::map<tree, std::pair<bool, int>> memo_;
	std::map<tree, tree> emitted_;
};

// A widened integer whose narrow source is neither live nor computable
// (`(long) in->m` where only the widened value is live on x86_64, both on
// aarch64): the point saves the narrow value, as the other build would,
// truncated back from the wide one, and widens it again after the call.
tree narrow_source(tree name)
{
	gassign *a = dyn_cast<gassign *>(SSA_NAME_DEF_STMT(name));
	if (!a || !CONVERT_EXPR_CODE_P(gimple_assign_rhs_code(a)))
		return NULL_TREE;
	tree src = gimple_assign_rhs1(a);
	if (TREE_CODE(src) != SSA_NAME || !INTEGRAL_TYPE_P(TREE_TYPE(src)) ||
	    !INTEGRAL_TYPE_P(TREE_TYPE(name)) ||
	    TYPE_PRECISION(TREE_TYPE(src)) > TYPE_PRECISION(TREE_TYPE(name)))
		return NULL_TREE;
	return src;
}

const pass_data saves_pass_data = {
	GIMPLE_PASS,
	"hetmig_saves",
	OPTGROUP_NONE,
	TV_NONE,
	PROP_ssa | PROP_cfg,
	0,
	0,
	0,
	0,
};

class saves_pass : public gimple_opt_pass {
public:
	saves_pass(gcc::context *ctxt) : gimple_opt_pass(saves_pass_data, ctxt) {}
	bool gate(function *) override { return optimize; }
	unsigned int execute(function *fun) override;
};

unsigned int saves_pass::execute(function *fun)
{
	auto live = live_across_points(fun);
	if (live.empty())
		return 0;
	std::map<std::string, int> sites;
	for (const auto &[g, names] : live)
		sites[site_of(g) + "|" + callee_symbol(g)]++;
	bool any = false;
	for (auto &[g, names] : live) {
		if (names.empty())
			continue;
		std::string site = site_of(g), callee = callee_symbol(g);
		bool dup_site = sites[site + "|" + callee] > 1;
		Recomputation again(names);
		struct Saved {
			tree name;    // the live value
			tree narrow;  // or its narrow source, saved in its place
			std::string hash;
		};
		// A second widening of one source is computed from the first.
		std::map<tree, tree> narrowed;
		std::set<tree> sources;
		for (tree n : names) {
			tree m = narrow_source(n);
			if (m && !again.is_live(m) && !again.possible(m) && sources.insert(m).second)
				narrowed[n] = m;
		}
		for (tree m : sources)
			again.allow(m);
		std::vector<Saved> values;
		std::vector<tree> recomputed;
		for (tree n : names) {
			auto m = narrowed.find(n);
			if (m != narrowed.end())
				values.push_back({n, m->second, ""});
			else if (again.possible(n))
				recomputed.push_back(n);
			else
				values.push_back({n, NULL_TREE, ""});
		}
		auto what = [](const Saved &s, bool with_location) {
			return value_signature(s.narrow ? s.narrow : s.name, with_location);
		};
		std::map<std::string, int> count;
		// Alike values told apart by where they are computed; only
		// then, since CSE keeps either of two locations.
		std::map<std::string, int> alike;
		for (const Saved &s : values)
			alike[what(s, false)]++;
		for (Saved &s : values) {
			std::string sig = what(s, false);
			s.hash = short_hash(alike[sig] > 1 ? what(s, true) : sig);
			count[s.hash]++;
		}
		// One order on both builds: by what the values are.
		std::stable_sort(values.begin(), values.end(),
				 [](const auto &a, const auto &b) { return a.hash < b.hash; });
		// The reloads start a block of their own: update_ssa takes a
		// block that defines a replacement to define it before any use
		// there, and would not give a loop around the call its PHI.
		basic_block rest = split_block(gimple_bb(g), g)->dest;
		gimple_stmt_iterator before = gsi_for_stmt(g), after = gsi_after_labels(rest);
		bool first = true;
		location_t loc = gimple_location(g);
		for (const Saved &s : values) {
			tree n = s.name;
			std::string hn = "hetmig.s." + site + "." + s.hash +
					 (dup_site || count[s.hash] > 1 ? ".dup" : "") + "." + callee;
			tree type = TREE_TYPE(s.narrow ? s.narrow : n);
			tree vtype = build_qualified_type(type, TYPE_QUALS(type) | TYPE_QUAL_VOLATILE);
			tree var = make_home(fun, vtype, hn, loc);
			TREE_THIS_VOLATILE(var) = 1;
			TREE_SIDE_EFFECTS(var) = 1;
			tree stored = n;
			if (s.narrow) {
				stored = make_ssa_name(type);
				gassign *cut = gimple_build_assign(stored, NOP_EXPR, n);
				gimple_set_location(cut, loc);
				gsi_insert_before(&before, cut, GSI_SAME_STMT);
			}
			gassign *store = gimple_build_assign(var, stored);
			gimple_set_location(store, loc);
			gsi_insert_before(&before, store, GSI_SAME_STMT);
			// Built with N as its result (and N's definition put back),
			// then given a new name that update_ssa makes every later
			// use read.
			gimple *def = SSA_NAME_DEF_STMT(n);
			gassign *load;
			if (s.narrow) {
				tree reloaded = make_ssa_name(type);
				gassign *narrow = gimple_build_assign(reloaded, var);
				gimple_set_location(narrow, loc);
				Recomputation::insert_after(&after, narrow, &first);
				again.set_reloaded(s.narrow, reloaded);
				load = gimple_build_assign(n, NOP_EXPR, reloaded);
			} else {
				load = gimple_build_assign(n, var);
			}
			SSA_NAME_DEF_STMT(n) = def;
			gimple_set_location(load, loc);
			Recomputation::insert_after(&after, load, &first);
			create_new_def_for(n, load, gimple_assign_lhs_ptr(load));
			any = true;
			if (verbose) {
				expanded_location x = expand_location(loc);
				fprintf(stderr, "%s:%d:%d: %s: %s (%s%s)\n", x.file, x.line, x.column,
					IDENTIFIER_POINTER(DECL_NAME(fun->decl)), hn.c_str(),
					s.narrow ? "narrowed from: " : "",
					value_signature(n, true).c_str());
			}
		}
		for (tree n : recomputed) {
			again.emit(n, &after, &first, loc);
			any = true;
			if (verbose) {
				expanded_location x = expand_location(loc);
				fprintf(stderr, "%s:%d:%d: %s: computed again: %s\n", x.file, x.line,
					x.column, IDENTIFIER_POINTER(DECL_NAME(fun->decl)),
					value_signature(n, true).c_str());
			}
		}
	}
	// Aggregates gcc keeps in memory across a call with no name (a
	// struct a call returns, passed to another after a second call): a
	// name and debug info, as at -O0.
	std::map<std::string, int> used;
	name_memory_temporaries(fun, used);
	if (any) {
		mark_virtual_operands_for_renaming(fun);
		// Full PHIs: with TODO_update_ssa, update_ssa places PHIs only
		// below the nearest common dominator of the definitions it
		// knows, and a parameter's own definition is in no block: a
		// parameter reloaded after the entry hook only (in its cold
		// block) got no PHI where the paths meet, and the code read the
		// register it came in (seen on aarch64, ackermann's n).
		update_ssa(TODO_update_ssa_full_phi);
	}
	return 0;
}

// ---------------------------------------------------------------------------
// 5. Points that cost a load and a branch (a GIMPLE pass after "optimized",
//    -O1 and above, before the saves).
//
// -finstrument-functions calls __cyg_profile_func_enter at every entry and
// __cyg_profile_func_exit at every return; the runtime's enter hook returns
// at once unless a move is pending, and its exit hook does nothing. Here the
// entry call runs only while __hetmig_pending (the runtime's pending word)
// is non-zero, and the exit calls go. Loops get their points earlier, right
// before ivopts (part 6): every innermost loop without a call has one at
// the top of each iteration, of itself or of its parent (`if
// (__hetmig_pending) __hetmig_loop_point ();`), so that a kernel looping
// for seconds without a call can still be moved. The calls are in blocks
// of their own off the hot path; the saves pass then keeps its stores and
// reloads there too.

tree pending_decl, loop_point_decl;
const struct ggc_root_tab points_roots[] = {
	{&pending_decl, 1, sizeof(pending_decl), &gt_ggc_mx_tree_node, &gt_pch_nx_tree_node},
	{&loop_point_decl, 1, sizeof(loop_point_decl), &gt_ggc_mx_tree_node,
	 &gt_pch_nx_tree_node},
	LAST_GGC_ROOT_TAB,
};

tree pending_word()
{
	if (!pending_decl) {
		tree type = build_qualified_type(unsigned_type_node, TYPE_QUAL_VOLATILE);
		tree d = build_decl(BUILTINS_LOCATION, VAR_DECL, get_identifier("__hetmig_pending"),
				    type);
		TREE_PUBLIC(d) = 1;
		DECL_EXTERNAL(d) = 1;
		TREE_THIS_VOLATILE(d) = 1;
		TREE_SIDE_EFFECTS(d) = 1;
		DECL_ARTIFICIAL(d) = 1;
		DECL_IGNORED_P(d) = 1;
		pending_decl = d;
	}
	return pending_decl;
}

tree loop_point()
{
	if (!loop_point_decl) {
		tree type = build_function_type_list(void_type_node, NULL_TREE);
		tree d = build_fn_decl("__hetmig_loop_point", type);
		TREE_PUBLIC(d) = 1;
		DECL_EXTERNAL(d) = 1;
		DECL_ARTIFICIAL(d) = 1;
		loop_point_decl = d;
	}
	return loop_point_decl;
}

// COND_BB falls through to CALL_BB, which falls through to REST: COND_BB
// then ends in `if (__hetmig_pending != 0)`, true to CALL_BB, false to REST.
void guard(basic_block cond_bb, basic_block call_bb, basic_block rest, location_t loc)
{
	gimple_stmt_iterator g = gsi_last_bb(cond_bb);
	tree word = make_ssa_name(unsigned_type_node);
	gassign *load = gimple_build_assign(word, pending_word());
	gimple_set_location(load, loc);
	gsi_insert_after(&g, load, GSI_NEW_STMT);
	gcond *cond = gimple_build_cond(NE_EXPR, word, build_zero_cst(unsigned_type_node),
					NULL_TREE, NULL_TREE);
	gimple_set_location(cond, loc);
	gsi_insert_after(&g, cond, GSI_NEW_STMT);
	edge to_call = single_succ_edge(cond_bb);
	to_call->flags &= ~EDGE_FALLTHRU;
	to_call->flags |= EDGE_TRUE_VALUE;
	to_call->probability = profile_probability::very_unlikely();
	edge past = make_edge(cond_bb, rest, EDGE_FALSE_VALUE);
	past->probability = to_call->probability.invert();
	call_bb->count = cond_bb->count.apply_probability(to_call->probability);
}

bool is_exit_hook(gimple *g)
{
	tree fn = is_gimple_call(g) ? gimple_call_fndecl(g) : NULL_TREE;
	return fn && DECL_NAME(fn) &&
	       !strcmp(IDENTIFIER_POINTER(DECL_NAME(fn)), "__cyg_profile_func_exit");
}

// A location for a loop's point: the loop's own, as gcc finds it for its
// dumps (its exit test's), else its body's first located statement.
location_t loop_location(class loop *l)
{
	location_t out = find_loop_location(l).get_location_t();
	if (out != UNKNOWN_LOCATION)
		return out;
	basic_block *body = get_loop_body(l);
	for (unsigned i = 0; i < l->num_nodes && out == UNKNOWN_LOCATION; i++)
		for (gimple_stmt_iterator g = gsi_start_bb(body[i]); !gsi_end_p(g); gsi_next(&g))
			if (!is_gimple_debug(gsi_stmt(g)) && gimple_has_location(gsi_stmt(g))) {
				out = gimple_location(gsi_stmt(g));
				break;
			}
	free(body);
	return out;
}

bool loop_has_call(class loop *l)
{
	basic_block *body = get_loop_body(l);
	bool any = false;
	for (unsigned i = 0; i < l->num_nodes && !any; i++)
		for (gimple_stmt_iterator g = gsi_start_bb(body[i]); !gsi_end_p(g); gsi_next(&g))
			if (is_gimple_call(gsi_stmt(g)) && !gimple_call_internal_p(gsi_stmt(g)) &&
			    !is_undeclared_builtin(gimple_call_fndecl(gsi_stmt(g)))) {
				any = true;
				break;
			}
	free(body);
	return any;
}

// ---------------------------------------------------------------------------
// 6. Loop points and ivopts (two GIMPLE passes around "ivopts", -O1 and
//    above).
//
// ivopts picks a loop's induction variables by the target's costs: a
// pointer on one ISA, a counter on the other, so a value live across a
// call in a loop it rewrote is not the same on both builds. Off altogether
// (-fno-ivopts) it cost the NPB kernels 13-28 %, nearly all of hetmig-cc's
// overhead. hetmig_loop_points runs just before ivopts: it inserts the loop
// points (after vectorization, so that they keep no loop from being
// vectorized) and hides from ivopts every loop with a call in it, points
// included, by clearing its entry in the function's loop array, which
// loops_list skips; hetmig_loops_back puts them back right after. ivopts so
// rewrites only loops no call site is in, and the values live at any site
// are the ones the source computes.

// Whether every iteration of L calls a function of the program defined in
// this unit (its block dominates L's latch): that function's entry is a
// migration point (-finstrument-functions), so L needs no point of its own.
bool always_calls_program(class loop *l)
{
	if (!l->latch)
		return false;
	basic_block *body = get_loop_body(l);
	bool found = false;
	for (unsigned i = 0; i < l->num_nodes && !found; i++) {
		if (!dominated_by_p(CDI_DOMINATORS, l->latch, body[i]))
			continue;
		for (gimple_stmt_iterator g = gsi_start_bb(body[i]); !gsi_end_p(g); gsi_next(&g)) {
			gimple *s = gsi_stmt(g);
			tree fn = is_gimple_call(s) ? gimple_call_fndecl(s) : NULL_TREE;
			// The callee's body may be compiled and released already:
			// the call graph still knows it is defined here.
			cgraph_node *callee = fn ? cgraph_node::get(fn) : nullptr;
			if (callee && callee->definition && !is_undeclared_builtin(fn) &&
			    !DECL_NO_INSTRUMENT_FUNCTION_ENTRY_EXIT(fn)) {
				found = true;
				break;
			}
		}
	}
	free(body);
	return found;
}

// The loop that gets the point of the innermost call-free loop INNER is
// its parent, when that is a loop without calls, else INNER itself: ivopts
// then rewrites INNER, the hot loop, whose induction variables are dead at
// the parent's point. A move waits for at most one run of INNER. No loop
// gets it (nullptr) when every iteration of the parent calls a function
// of the program, whose entry is a point: FT's copies between a line
// buffer and the grid around each call of fft_line ran 3x the
// instructions of gcc -O2's with a point in them.
class loop *point_loop_for(class loop *inner)
{
	class loop *parent = loop_outer(inner);
	if (parent && parent->num && loop_location(parent) != UNKNOWN_LOCATION) {
		if (!loop_has_call(parent))
			return parent;
		if (always_calls_program(parent))
			return nullptr;
	}
	return inner;
}

// Puts a guarded __hetmig_loop_point() call at the top of the header of
// every loop that point_loop_for() chooses. Returns whether it changed FUN.
bool insert_loop_points(function *fun)
{
	std::vector<class loop *> chosen;
	calculate_dominance_info(CDI_DOMINATORS);
	for (auto l : loops_list(fun, LI_ONLY_INNERMOST)) {
		if (!l->num || loop_has_call(l))
			continue;
		class loop *p = point_loop_for(l);
		if (p && loop_location(p) != UNKNOWN_LOCATION &&
		    std::find(chosen.begin(), chosen.end(), p) == chosen.end())
			chosen.push_back(p);
	}
	for (class loop *l : chosen) {
		location_t loc = loop_location(l);
		basic_block header = l->header;
		basic_block body = split_block_after_labels(header)->dest;
		basic_block call_bb = split_edge(single_succ_edge(header));
		gcall *call = gimple_build_call(loop_point(), 0);
		gimple_set_location(call, loc);
		gimple_stmt_iterator g = gsi_start_bb(call_bb);
		gsi_insert_after(&g, call, GSI_NEW_STMT);
		guard(header, call_bb, body, loc);
	}
	return !chosen.empty();
}

// Loops hidden from a pass, by number, to be put back after it.
using HiddenLoops = std::vector<std::pair<unsigned, class loop *>>;

// Hides from the passes that walk loops_list every loop of FUN for which
// HAS_CALL holds, by clearing its entry in the loop array (loops_list
// skips cleared entries); records them in HIDDEN.
void hide_loops(function *fun, bool (*has_call)(class loop *), HiddenLoops &hidden)
{
	hidden.clear();
	if (!loops_for_fn(fun))
		return;
	for (auto l : loops_list(fun, 0))
		if (l->num && has_call(l))
			hidden.emplace_back(l->num, l);
	for (auto &h : hidden)
		(*loops_for_fn(fun)->larray)[h.first] = nullptr;
}

// Puts back the loops of HIDDEN.
void show_loops(function *fun, HiddenLoops &hidden)
{
	for (auto &h : hidden)
		(*loops_for_fn(fun)->larray)[h.first] = h.second;
	hidden.clear();
}

// The loops hetmig_loop_points hid from ivopts.
HiddenLoops hidden_loops;

const pass_data loop_points_pass_data = {
	GIMPLE_PASS, "hetmig_loop_points", OPTGROUP_NONE, TV_NONE,
	PROP_ssa | PROP_cfg | PROP_loops, 0, 0, 0, 0,
};

class loop_points_pass : public gimple_opt_pass {
public:
	loop_points_pass(gcc::context *ctxt, bool points)
		: gimple_opt_pass(loop_points_pass_data, ctxt), points_(points) {}
	bool gate(function *) override { return optimize; }
	unsigned int execute(function *fun) override;

private:
	bool points_;
};

unsigned int loop_points_pass::execute(function *fun)
{
	hidden_loops.clear();
	if (!loops_for_fn(fun))
		return 0;
	if (points_ && flag_instrument_function_entry_exit && insert_loop_points(fun)) {
		free_dominance_info(CDI_DOMINATORS);
		calculate_dominance_info(CDI_DOMINATORS);
		mark_virtual_operands_for_renaming(fun);
		update_ssa(TODO_update_ssa_only_virtuals);
	}
	hide_loops(fun, loop_has_call, hidden_loops);
	return 0;
}

const pass_data loops_back_pass_data = {
	GIMPLE_PASS, "hetmig_loops_back", OPTGROUP_NONE, TV_NONE,
	PROP_ssa | PROP_cfg | PROP_loops, 0, 0, 0, 0,
};

class loops_back_pass : public gimple_opt_pass {
public:
	loops_back_pass(gcc::context *ctxt) : gimple_opt_pass(loops_back_pass_data, ctxt) {}
	bool gate(function *) override { return optimize; }
	unsigned int execute(function *fun) override
	{
		// What ivopts freed for the loops it saw, for these too.
		for (auto &h : hidden_loops)
			free_numbers_of_iterations_estimates(h.second);
		show_loops(fun, hidden_loops);
		return 0;
	}
};

// RTL loop-invariant motion (loop2_invariant) hoists what a loop computes
// again and again into its preheader, and a value hoisted out of a loop
// with a call is live across that call in a register or frame slot no
// variable names, on one ISA only: pointers.c's main at -O2 kept a vector
// constant of an inlined fill() at rbp-432 across walk() on x86_64. The
// same trick as around ivopts: loops with a call are hidden from it, and
// it still hoists out of the call-free loops, the hot ones, into their
// preheaders.
HiddenLoops rtl_hidden_loops;

bool rtl_loop_has_call(class loop *l)
{
	basic_block *body = get_loop_body(l);
	bool any = false;
	for (unsigned i = 0; i < l->num_nodes && !any; i++) {
		rtx_insn *insn;
		FOR_BB_INSNS(body[i], insn)
			if (CALL_P(insn)) {
				any = true;
				break;
			}
	}
	free(body);
	return any;
}

const pass_data rtl_loops_hide_pass_data = {
	RTL_PASS, "hetmig_rtl_loops_hide", OPTGROUP_NONE, TV_NONE, 0, 0, 0, 0, 0,
};

class rtl_loops_hide_pass : public rtl_opt_pass {
public:
	rtl_loops_hide_pass(gcc::context *ctxt) : rtl_opt_pass(rtl_loops_hide_pass_data, ctxt) {}
	bool gate(function *) override { return optimize && flag_move_loop_invariants; }
	unsigned int execute(function *fun) override
	{
		hide_loops(fun, rtl_loop_has_call, rtl_hidden_loops);
		return 0;
	}
};

const pass_data rtl_loops_back_pass_data = {
	RTL_PASS, "hetmig_rtl_loops_back", OPTGROUP_NONE, TV_NONE, 0, 0, 0, 0, 0,
};

class rtl_loops_back_pass : public rtl_opt_pass {
public:
	rtl_loops_back_pass(gcc::context *ctxt) : rtl_opt_pass(rtl_loops_back_pass_data, ctxt) {}
	bool gate(function *) override { return optimize && flag_move_loop_invariants; }
	unsigned int execute(function *fun) override
	{
		show_loops(fun, rtl_hidden_loops);
		return 0;
	}
};

const pass_data points_pass_data = {
	GIMPLE_PASS,
	"hetmig_points",
	OPTGROUP_NONE,
	TV_NONE,
	PROP_ssa | PROP_cfg,
	0,
	0,
	0,
	0,
};

class points_pass : public gimple_opt_pass {
public:
	points_pass(gcc::context *ctxt) : gimple_opt_pass(points_pass_data, ctxt) {}
	bool gate(function *) override { return optimize && flag_instrument_function_entry_exit; }
	unsigned int execute(function *fun) override;
};

unsigned int points_pass::execute(function *fun)
{
	bool changed = false;
	basic_block bb;
	std::vector<gimple *> exits;
	gimple *entry = nullptr;
	FOR_EACH_BB_FN(bb, fun)
		for (gimple_stmt_iterator g = gsi_start_bb(bb); !gsi_end_p(g); gsi_next(&g)) {
			if (is_exit_hook(gsi_stmt(g)))
				exits.push_back(gsi_stmt(g));
			else if (!entry && is_entry_hook(gsi_stmt(g)))
				entry = gsi_stmt(g);
		}
	for (gimple *x : exits) {
		gimple_stmt_iterator g = gsi_for_stmt(x);
		unlink_stmt_vdef(x);
		gsi_remove(&g, true);
		release_defs(x);
		changed = true;
	}
	if (entry && !stmt_ends_bb_p(entry)) {
		basic_block first = gimple_bb(entry);
		gimple_stmt_iterator before = gsi_for_stmt(entry);
		gsi_prev(&before);
		while (!gsi_end_p(before) && is_gimple_debug(gsi_stmt(before)))
			gsi_prev(&before);
		basic_block call_bb = gsi_end_p(before) ? split_block_after_labels(first)->dest
						       : split_block(first, gsi_stmt(before))->dest;
		basic_block cond_bb = single_pred(call_bb);
		basic_block rest = split_block(call_bb, entry)->dest;
		guard(cond_bb, call_bb, rest, gimple_location(entry));
		changed = true;
	}
	if (changed) {
		free_dominance_info(CDI_DOMINATORS);
		if (loops_for_fn(fun))
			loops_state_set(LOOPS_NEED_FIXUP);
		mark_virtual_operands_for_renaming(fun);
		update_ssa(TODO_update_ssa_only_virtuals);
	}
	return 0;
}

// Runs PASS next to (POS) the first instance of the pass named REFERENCE.
void insert_pass(opt_pass *pass, const char *reference, enum pass_positioning_ops pos)
{
	struct register_pass_info info;
	info.pass = pass;
	info.reference_pass_name = reference;
	info.ref_pass_instance_number = 1;
	info.pos_op = pos;
	register_callback(plugin_name, PLUGIN_PASS_MANAGER_SETUP, nullptr, &info);
}

void insert_pass_after(opt_pass *pass, const char *reference)
{
	insert_pass(pass, reference, PASS_POS_INSERT_AFTER);
}

std::string target_of(const char *configuration)
{
	const char *t = configuration ? strstr(configuration, "--target=") : nullptr;
	if (!t)
		return "?";
	t += strlen("--target=");
	return std::string(t, strcspn(t, " "));
}

} // namespace

int plugin_init(struct plugin_name_args *args, struct plugin_gcc_version *version)
{
	if (!plugin_default_version_check(version, &gcc_version)) {
		fprintf(stderr,
			"hetmig plugin %s: built for gcc %s (%s), refused by gcc %s (%s); "
			"rebuild it with `make cc`\n",
			args->full_name, gcc_version.basever, HETMIG_PLUGIN_TARGET,
			version->basever, target_of(version->configuration_arguments).c_str());
		return 1;
	}
	plugin_name = args->base_name;
	bool order = true, homes = true, names = true, saves = true, points = true;
	bool rtl_invariants = true;
	bool leaves_only = false, leaves_for_optimized = false;
	for (int i = 0; i < args->argc; i++) {
		const char *k = args->argv[i].key;
		if (!strcmp(k, "verbose"))
			verbose = true;
		else if (!strcmp(k, "no-order"))
			order = false;
		else if (!strcmp(k, "no-homes"))
			homes = false;
		else if (!strcmp(k, "no-names"))
			names = false;
		else if (!strcmp(k, "no-saves"))
			saves = false;
		else if (!strcmp(k, "no-points"))
			points = false;
		else if (!strcmp(k, "no-rtl-invariants"))
			rtl_invariants = false;
		else if (!strcmp(k, "no-leaves"))
			inline_leaves = false;
		else if (!strcmp(k, "leaves-only")) {
			leaves_only = true;
			// =optimized: count for a build at -O1 or above.
			const char *v = args->argv[i].value;
			if (v && strcmp(v, "optimized")) {
				fprintf(stderr, "hetmig plugin: leaves-only=%s: the one value is "
						"'optimized'\n", v);
				return 1;
			}
			leaves_for_optimized = v != nullptr;
		}
		else {
			fprintf(stderr, "hetmig plugin: unknown option %s\n", k);
			return 1;
		}
	}
	register_callback(plugin_name, PLUGIN_INFO, nullptr, &info);
	leaves_may_loop = optimize || leaves_for_optimized;
	// leaves-only: what a plain -finstrument-functions build needs to
	// count the same function entries as a hetmig-cc build
	// (tools/test/hetero-test's counting build).
	if (leaves_only) {
		inline_leaves = true;
		order_arguments = false;
		register_callback(plugin_name, PLUGIN_PRE_GENERICIZE, pre_genericize, nullptr);
		return 0;
	}
	order_arguments = order;
	if (order || inline_leaves)
		register_callback(plugin_name, PLUGIN_PRE_GENERICIZE, pre_genericize, nullptr);
	if (names)
		insert_pass_after(new names_pass(g), "ssa");
	if (homes)
		insert_pass_after(new homes_pass(g), "optimized");
	if (saves)
		insert_pass_after(new saves_pass(g), "optimized");
	// Registered last, so it runs right after "optimized", before the saves.
	if (points) {
		register_callback(plugin_name, PLUGIN_REGISTER_GGC_ROOTS, nullptr,
				  const_cast<ggc_root_tab *>(points_roots));
		insert_pass_after(new points_pass(g), "optimized");
	}
	insert_pass(new loop_points_pass(g, points), "ivopts", PASS_POS_INSERT_BEFORE);
	insert_pass(new loops_back_pass(g), "ivopts", PASS_POS_INSERT_AFTER);
	if (rtl_invariants) {
		insert_pass(new rtl_loops_hide_pass(g), "loop2_invariant", PASS_POS_INSERT_BEFORE);
		insert_pass(new rtl_loops_back_pass(g), "loop2_invariant", PASS_POS_INSERT_AFTER);
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * expr: recursive-descent parser and evaluator. The parse of a nested
 * expression is a deep recursion (expr -> term -> factor -> expr ...)
 * whose frames hold heap pointers to partly built trees.
 */
#include <stdlib.h>

#include "expr.h"

long nodes_made;

static struct node *parse_expr(void);

static struct node *mk(enum tok op, struct node *l, struct node *r)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		abort();
	n->op = op;
	n->l = l;
	n->r = r;
	nodes_made++;
	return n;
}

static struct node *parse_factor(void)
{
	struct node *n, *inner;

	if (lex.tok == T_NUM) {
		n = mk(T_NUM, NULL, NULL);
		n->num = lex.num;
		lex_next();
	} else if (lex.tok == T_VAR) {
		n = mk(T_VAR, NULL, NULL);
		n->var = lex.var;
		lex_next();
	} else if (lex.tok == T_MINUS) {
		lex_next();
		inner = parse_factor();
		n = mk(T_MINUS, NULL, inner);
	} else if (lex.tok == T_LPAREN) {
		lex_next();
		n = parse_expr();
		if (lex.tok != T_RPAREN)
			abort();
		lex_next();
	} else {
		abort();
	}
	return n;
}

static struct node *parse_term(void)
{
	struct node *l, *r;
	enum tok op;

	l = parse_factor();
	while (lex.tok == T_STAR || lex.tok == T_SLASH) {
		op = lex.tok;
		lex_next();
		r = parse_factor();
		l = mk(op, l, r);
	}
	return l;
}

static struct node *parse_expr(void)
{
	struct node *l, *r;
	enum tok op;

	l = parse_term();
	while (lex.tok == T_PLUS || lex.tok == T_MINUS) {
		op = lex.tok;
		lex_next();
		r = parse_term();
		l = mk(op, l, r);
	}
	return l;
}

struct node *parse(const char *src)
{
	struct node *n;

	lex_start(src);
	n = parse_expr();
	if (lex.tok != T_END)
		abort();
	return n;
}

long eval(const struct node *n)
{
	long a = 0, b;

	switch (n->op) {
	case T_NUM:
		return n->num;
	case T_VAR:
		return vars[n->var];
	default:
		break;
	}
	if (n->l)
		a = eval(n->l);
	b = eval(n->r);
	switch (n->op) {
	case T_PLUS:
		return (a + b) % MOD;
	case T_MINUS:
		return n->l ? (a - b + MOD) % MOD : (MOD - b) % MOD;
	case T_STAR:
		return a * b % MOD;
	case T_SLASH:
		return b ? a / b : a;
	default:
		abort();
	}
}

void free_tree(struct node *n)
{
	if (!n)
		return;
	free_tree(n->l);
	free_tree(n->r);
	free(n);
}

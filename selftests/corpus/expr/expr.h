/* SPDX-License-Identifier: GPL-2.0 */
/*
 * expr: a program of three source files (README.md). lexer.c turns text
 * into tokens, parser.c builds a syntax tree on the heap and evaluates it,
 * main.c generates expressions and prints their values. State is shared
 * between the files through globals declared here.
 */
#ifndef EXPR_H
#define EXPR_H

enum tok { T_END, T_NUM, T_VAR, T_PLUS, T_MINUS, T_STAR, T_SLASH, T_LPAREN, T_RPAREN, T_BAD };

struct lexer {
	const char *src;
	const char *pos;
	enum tok tok;
	long num;
	int var;
	long tokens;     /* over the whole run */
};

struct node {
	enum tok op;     /* T_NUM, T_VAR or an operator */
	long num;
	int var;
	struct node *l, *r;
};

#define NVARS 26
#define MOD 2147483647L

extern struct lexer lex;            /* lexer.c */
extern long vars[NVARS];            /* main.c */
extern long nodes_made;             /* parser.c */

void lex_start(const char *src);
void lex_next(void);

struct node *parse(const char *src);
long eval(const struct node *n);
void free_tree(struct node *n);

#endif

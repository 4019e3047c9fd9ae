/* SPDX-License-Identifier: GPL-2.0 */
/* expr: the lexer; its state is the global `lex`, read by parser.c. */
#include "expr.h"

struct lexer lex;

void lex_start(const char *src)
{
	lex.src = src;
	lex.pos = src;
	lex_next();
}

void lex_next(void)
{
	char c;

	while (*lex.pos == ' ')
		lex.pos++;
	c = *lex.pos;
	lex.tokens++;
	if (c == '\0') {
		lex.tok = T_END;
		return;
	}
	lex.pos++;
	if (c >= '0' && c <= '9') {
		lex.num = c - '0';
		while (*lex.pos >= '0' && *lex.pos <= '9')
			lex.num = (lex.num * 10 + (*lex.pos++ - '0')) % MOD;
		lex.tok = T_NUM;
	} else if (c >= 'a' && c <= 'z') {
		lex.var = c - 'a';
		lex.tok = T_VAR;
	} else {
		switch (c) {
		case '+': lex.tok = T_PLUS; break;
		case '-': lex.tok = T_MINUS; break;
		case '*': lex.tok = T_STAR; break;
		case '/': lex.tok = T_SLASH; break;
		case '(': lex.tok = T_LPAREN; break;
		case ')': lex.tok = T_RPAREN; break;
		default: lex.tok = T_BAD; break;
		}
	}
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tree: linked heap structures. A binary search tree (insert, find,
 * delete, recursive walks and height) and singly linked lists (built from
 * the tree, reversed, merge-sorted recursively). Every node lives on the
 * heap and points to others: heap pointers carry over unchanged.
 */
#include <stdio.h>
#include <stdlib.h>

#include "corpus.h"

struct tnode {
	unsigned key;
	unsigned count;
	struct tnode *left, *right;
};

struct lnode {
	unsigned val;
	struct lnode *next;
};

static struct tnode *insert(struct tnode *t, unsigned key)
{
	struct tnode *sub;

	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			abort();
		t->key = key;
		t->count = 1;
		return t;
	}
	if (key == t->key) {
		t->count++;
	} else if (key < t->key) {
		sub = insert(t->left, key);
		t->left = sub;
	} else {
		sub = insert(t->right, key);
		t->right = sub;
	}
	return t;
}

static struct tnode *find(struct tnode *t, unsigned key)
{
	struct tnode *r;

	if (!t || t->key == key)
		return t;
	if (key < t->key)
		r = find(t->left, key);
	else
		r = find(t->right, key);
	return r;
}

static struct tnode *delete_key(struct tnode *t, unsigned key)
{
	struct tnode *sub, *succ;

	if (!t)
		return NULL;
	if (key < t->key) {
		sub = delete_key(t->left, key);
		t->left = sub;
	} else if (key > t->key) {
		sub = delete_key(t->right, key);
		t->right = sub;
	} else if (!t->left || !t->right) {
		sub = t->left ? t->left : t->right;
		free(t);
		return sub;
	} else {
		for (succ = t->right; succ->left; succ = succ->left)
			;
		t->key = succ->key;
		t->count = succ->count;
		sub = delete_key(t->right, succ->key);
		t->right = sub;
	}
	return t;
}

static int height(const struct tnode *t)
{
	int l, r;

	if (!t)
		return 0;
	l = height(t->left);
	r = height(t->right);
	return 1 + (l > r ? l : r);
}

/* In-order walk that prepends to a list: the list comes out descending. */
static struct lnode *to_list(const struct tnode *t, struct lnode *head)
{
	struct lnode *n;

	if (!t)
		return head;
	head = to_list(t->left, head);
	n = malloc(sizeof(*n));
	if (!n)
		abort();
	n->val = t->key * 2654435761u + t->count;
	n->next = head;
	head = to_list(t->right, n);
	return head;
}

static void free_tree(struct tnode *t)
{
	if (!t)
		return;
	free_tree(t->left);
	free_tree(t->right);
	free(t);
}

static struct lnode *reverse(struct lnode *l)
{
	struct lnode *prev = NULL, *next;

	while (l) {
		CORPUS_POINT();
		next = l->next;
		l->next = prev;
		prev = l;
		l = next;
	}
	return prev;
}

static struct lnode *merge(struct lnode *a, struct lnode *b)
{
	struct lnode head, *tail = &head;

	while (a && b) {
		if (a->val <= b->val) {
			tail->next = a;
			a = a->next;
		} else {
			tail->next = b;
			b = b->next;
		}
		tail = tail->next;
	}
	tail->next = a ? a : b;
	return head.next;
}

static struct lnode *merge_sort(struct lnode *l)
{
	struct lnode *slow, *fast, *back, *a, *b, *m;

	if (!l || !l->next)
		return l;
	slow = l;
	fast = l->next;
	while (fast && fast->next) {
		slow = slow->next;
		fast = fast->next->next;
	}
	back = slow->next;
	slow->next = NULL;
	a = merge_sort(l);
	b = merge_sort(back);
	m = merge(a, b);
	return m;
}

static unsigned long list_sum(const struct lnode *l, unsigned long *n)
{
	unsigned long s = 0;

	for (*n = 0; l; l = l->next, ++*n)
		s = s * 1000003 + l->val;
	return s;
}

int main(int argc, char **argv)
{
	long scale = corpus_scale(argc, argv);
	long round, i, keys = 20000;
	struct tnode *root = NULL, *hit;
	struct lnode *list, *next;
	unsigned long sum, n, found;
	unsigned k;
	int h;

	for (round = 0; round < 4 * scale; round++) {
		found = 0;
		for (i = 0; i < keys; i++) {
			CORPUS_POINT();
			k = corpus_rand();
			root = insert(root, k % 50000);
		}
		for (i = 0; i < keys; i++) {
			k = corpus_rand();
			hit = find(root, k % 50000);
			if (hit)
				found += hit->count;
		}
		for (i = 0; i < keys / 2; i++) {
			k = corpus_rand();
			root = delete_key(root, k % 50000);
		}
		h = height(root);
		list = to_list(root, NULL);
		sum = list_sum(list, &n);
		printf("round %ld: found %lu height %d list %lu sum %lu\n",
		       round, found, h, n, sum);
		list = reverse(list);
		list = merge_sort(list);
		sum = list_sum(list, &n);
		printf("round %ld: sorted %lu sum %lu\n", round, n, sum);
		for (; list; list = next) {
			next = list->next;
			free(list);
		}
	}
	free_tree(root);
	return 0;
}

/* list.h -- an intrusive doubly linked list (after the Linux kernel's).
 *
 * Owns nothing: the caller embeds a struct list in its own struct and
 * gets the struct back with container_of().  A head is a struct list
 * that is not part of any element; an empty list points at itself.
 *
 *   struct list head; list_init(&head);
 *   list_append(&head, &w->link);       // O(1), at the tail
 *   list_del(&w->link);                 // O(1); the node is empty after
 *   w = container_of(head.next, struct waiter, link);
 *
 * Invariants: a node is on at most one list; list_del() leaves it pointing
 * at itself, so deleting it twice is harmless.  No allocation, no threads.
 *
 * May call: nothing.  To extend: keep it to what two users need.
 */
#ifndef EMITCGI_LIST_H
#define EMITCGI_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct list {
	struct list *prev, *next;
};

static inline void list_init(struct list *l)
{
	l->prev = l->next = l;
}

static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

static inline void list_append(struct list *head, struct list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void list_del(struct list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* Moves every node of from to the empty list to; from is empty after. */
static inline void list_move_all(struct list *to, struct list *from)
{
	list_init(to);
	if (list_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

#endif

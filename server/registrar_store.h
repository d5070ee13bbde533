/* registrar_store.h -- the registrar's etcd mode, private to registrar.c and
 * registrar_store.c: what REGISTER, RENEW, DEREGISTER, SPLIT and expiry do when etcd holds the
 * registry, and the helpers both files share. */
#ifndef SVCDNS_REGISTRAR_STORE_H
#define SVCDNS_REGISTRAR_STORE_H

#include "registrar.h"

/* Tells the listener of a change. */
void registrar_tell(struct registrar *r, enum reg_change change, const struct instance *inst);
/* Takes an instance out of the lease timer and the registry, and frees it. */
void registrar_drop(struct registrar *r, struct instance *inst);
/* Puts a split (with shares) or removes one (none) in the registry, and tells the
 * listener; 0, or -1 when out of memory. */
int registrar_apply_split(struct registrar *r, const struct split *sp);
/* The name of the key with index owner_key - 1, or NULL. */
const char *registrar_key_name(const struct config *cfg, uint16_t owner_key);

/* Each sets res: REG_DEFERRED (the result comes through r->deferral) or an error. */
void store_register(struct registrar *r, const struct instance_spec *spec, unsigned granted_ttl,
		    int key_index, struct reg_result *res);
/* RENEW: memory only at the owner; elsewhere a takeover txn.  0: renewed here, 1: res set. */
int store_renew(struct registrar *r, struct instance *inst, unsigned granted_ttl, struct reg_result *res);
void store_deregister(struct registrar *r, struct instance *inst, struct reg_result *res);
/* SPLIT: one txn that writes (or, without shares, deletes) the service's split. */
void store_split(struct registrar *r, const struct split *sp, struct reg_result *res);
/* After a reload: etcd's splits again where the config no longer has its own. */
int store_restore_splits(struct registrar *r);
/* A lease ran out at its owner: delete the key if nobody took the instance over. */
void store_expire(struct registrar *r, struct instance *inst);
/* Periodic: adopts instances whose owner left. */
void store_maintain(struct registrar *r);

#endif

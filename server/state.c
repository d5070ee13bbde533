/* state.c -- durable registrations: a write-ahead journal with group commit,
 * compacted atomically (temp file, fsync, rename).
 *
 * Design: one pwrite(2) per record, straight into the file at the end of the
 * last whole record, with no user-space buffer.  A full disk or a dead device is
 * therefore seen by the append itself, before the change is applied, and
 * state_commit() is nothing but one fdatasync for everything appended since the
 * last commit.  Writing at an explicit offset (rather than O_APPEND) means a
 * torn append can be cut off exactly where it began.
 *
 * The file format, and the code that reads and writes its bytes, is in
 * state_codec.h; this file owns the file's life: open, replay, append, commit,
 * compaction.
 *
 * Replay stops at the first record that is cut short or fails its checksum:
 * that is what a crash in the middle of an append, or a damaged disk, leaves.
 * Everything before it is delivered, the rest is cut off with one warning.  A
 * record whose checksum is right but whose contents make no sense was written
 * that way, by a bug or a foreign program; cutting it off would silently throw
 * away what follows it, so state_open refuses the file instead.
 *
 * A failed append (ENOSPC, EFBIG, EIO) is cut off again with ftruncate, so the
 * next append, once there is room, follows the last whole record.  After an
 * fdatasync fails, or a torn append cannot be cut off, nobody knows what is on
 * the disk (the kernel may have dropped the dirty pages it could not write).
 * The state is then "broken": appends and commits fail with the saved errno,
 * state_wants_compaction() says yes, and the next successful compaction, which
 * writes every live instance afresh, clears it.
 *
 * Replay hands the put callback "" as the key name when the record has none.
 * The file is flock()ed, so a second server on the same file fails to start
 * instead of interleaving records; a path through a symbolic link is resolved,
 * so compaction replaces the file and not the link.  Compaction must run
 * between changes, never between an append and the change it records.
 *
 * state_compact_start() compacts out of the loop's way, as Redis's BGREWRITEAOF: a
 * forked child writes the image from its copy-on-write snapshot of the registry into
 * the temp file and fdatasyncs it; the parent goes on appending to the old file and
 * committing it (an OK is durable there), and keeps a copy of every record appended
 * since the fork.  state_compact_poll(), once the child has exited with success,
 * appends those records after the image, fdatasyncs, renames, and fsyncs the
 * directory; until the rename the old file holds everything, after it the new one. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "state.h"
#include "state_codec.h"

#define READ_BUFFER (1 << 20)      /* replay reads the file in pieces this big */
#define IMAGE_BUFFER (1 << 20)     /* compaction writes in pieces this big */
#define COMPACT_MIN_JOURNAL (1 << 20)
#define SINCE_BUFFER_MIN (1 << 20)  /* first size of the records kept during a background compaction */

struct state {
	int fd;                  /* the state file, flock()ed; appends go to `end` */
	char *path;              /* as given, for messages */
	char *file_path;         /* path with symbolic links resolved: what a rename replaces */
	char *tmp_path;          /* file_path + ".tmp": compaction writes here, then renames */
	char *dir_path;          /* the directory holding file_path, fsynced after a rename */
	off_t end;               /* end of the last whole record: where the next append goes */
	off_t image_end;         /* end of the compacted image; the journal follows it */
	int dirty;               /* records appended since the last fdatasync */
	int broken_errno;        /* nonzero: the disk's contents are unknown, see above */
	struct state_crc crc;    /* CRC32C tables, see state_codec.c */
	/* A background compaction (state_compact_start), as Redis's BGREWRITEAOF: */
	pid_t child_pid;         /* the child writing the image to tmp_path; 0: none */
	int child_fd;            /* tmp_path, open; the parent appends `since` to it */
	int child_sock;          /* the child's one-byte result arrives here; closing it lets the child exit */
	pid_t reap_pid;          /* a child that has reported and is exiting, reaped later */
	int64_t child_started_ms; /* monotonic, at the fork */
	off_t child_journal_bytes; /* the old file's size at the fork, for the log */
	uint8_t *since;          /* records appended since the fork, in order */
	size_t since_len;        /* bytes in since */
	size_t since_size;       /* bytes allocated for since */
	int since_failed;        /* a record could not be kept: the new file must not be installed */
};

/* ---- records ---- */

/* Decodes one payload and hands it to ops.  Returns 0, -1 when the payload is
 * malformed (*kind_name says what it claimed to be), -2 when a callback refused it. */
static int deliver_record(const uint8_t *payload, size_t len, const struct state_replay_ops *ops,
			  struct state_record *rec, const char **kind_name)
{
	int rc;
	if (state_decode_record(payload, len, rec, kind_name) < 0)
		return -1;
	if (rec->kind == STATE_RECORD_PUT)
		rc = ops->put(ops->arg, &rec->spec, rec->key_name);
	else if (rec->kind == STATE_RECORD_RENEW)
		rc = ops->renew(ops->arg, rec->spec.service, rec->spec.instance, rec->expires_wall_ms);
	else if (rec->kind == STATE_RECORD_SPLIT)
		rc = ops->split ? ops->split(ops->arg, &rec->split) : 0;
	else
		rc = ops->remove(ops->arg, rec->spec.service, rec->spec.instance);
	return rc < 0 ? -2 : 0;
}

/* ---- file helpers ---- */

static int write_all(int fd, const uint8_t *data, size_t len, off_t offset)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		data += n;
		len -= (size_t)n;
		offset += n;
	}
	return 0;
}

static int fsync_directory(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

/* Takes the file for this process alone: two servers appending to one journal
 * would interleave records.  The lock also fails when the path was renamed over
 * (by another server's compaction) between our open and our flock. */
static int lock_file(int fd, const char *path)
{
	struct stat held, named;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	if (fstat(fd, &held) < 0 || stat(path, &named) < 0)
		return -1;
	if (held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
		errno = EWOULDBLOCK;
		return -1;
	}
	return 0;
}

/* ---- compaction ---- */

/* Writes the image into the temp file; registry_foreach cannot stop early, so the
 * first failure is kept in `error` and later instances are skipped. */
struct image_writer {
	const struct state *st;
	int fd;
	uint8_t *buf;
	size_t len;              /* bytes waiting in buf */
	off_t written;           /* bytes already in the file, header included */
	size_t count;            /* instances written */
	int error;               /* errno of the first failure, 0 while all is well */
	const char *step;        /* the call that failed */
	int64_t wall_minus_mono_ms;
	const char *(*key_name)(void *arg, uint16_t owner_key);
	void *key_arg;
};

static void flush_image(struct image_writer *w)
{
	if (w->error || w->len == 0)
		return;
	if (write_all(w->fd, w->buf, w->len, w->written) < 0) {
		w->error = errno;
		w->step = "write";
		return;
	}
	w->written += (off_t)w->len;
	w->len = 0;
}

static void write_instance(void *arg, struct instance *inst)
{
	struct image_writer *w = arg;
	if (w->error || inst->is_static)
		return;
	struct instance_spec spec;
	instance_to_spec(inst, &spec);
	/* 0 means "no lease" in both clocks. */
	int64_t expires_wall = spec.expires_ms ? spec.expires_ms + w->wall_minus_mono_ms : 0;
	const char *key = w->key_name && inst->owner_key ? w->key_name(w->key_arg, inst->owner_key) : NULL;
	if (IMAGE_BUFFER - w->len < STATE_RECORD_MAX)
		flush_image(w);
	if (w->error)
		return;
	size_t n = state_encode_put(&w->st->crc, w->buf + w->len, &spec, expires_wall, key);
	if (n == 0) {
		w->error = EINVAL;
		w->step = "encode";
		return;
	}
	w->len += n;
	w->count++;
}

static void write_split(struct image_writer *w, const struct split *sp)
{
	if (sp->from_config)
		return;  /* the config sets it again at every start */
	if (IMAGE_BUFFER - w->len < STATE_RECORD_MAX)
		flush_image(w);
	if (!w->error)
		w->len += state_encode_split(&w->st->crc, w->buf + w->len, sp);
}

/* Creates tmp_path afresh for a new image and returns its descriptor, or -1 with errno
 * and *step naming the call that failed.  A leftover of a crash goes; O_EXCL and
 * O_NOFOLLOW then make sure we write to a file of our own, never through a link
 * someone put there. */
static int open_temp(struct state *st, const char **step)
{
	if (unlink(st->tmp_path) < 0 && errno != ENOENT) {
		*step = "unlink of an old temp file";
		return -1;
	}
	int fd = open(st->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*step = "open";
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		*step = "flock";
		unlink(st->tmp_path);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Best effort: the failure being reported matters more than this cleanup. */
static void discard_temp(struct state *st, int fd)
{
	int saved = errno;
	unlink(st->tmp_path);
	close(fd);
	errno = saved;
}

/* Writes the header and one PUT per journaled instance of reg (none when reg is NULL)
 * into w->fd and makes them durable.  Returns 0, or -1 with errno and w->step. */
static int write_image(struct state *st, struct registry *reg, struct image_writer *w)
{
	uint8_t header[STATE_HEADER_SIZE];
	w->st = st;
	w->written = STATE_HEADER_SIZE;
	w->buf = malloc(IMAGE_BUFFER);
	if (!w->buf) {
		w->step = "malloc";
		return -1;
	}
	if (reg) {
		registry_foreach(reg, write_instance, w);
		for (size_t i = 0; i < reg->splits.count && !w->error; i++)
			write_split(w, &reg->splits.items[i]);
	}
	flush_image(w);
	free(w->buf);
	w->buf = NULL;
	if (w->error) {
		errno = w->error;
		return -1;
	}
	state_encode_header(&st->crc, header, (uint64_t)w->written);
	if (write_all(w->fd, header, sizeof header, 0) < 0) {
		w->step = "write";
		return -1;
	}
	if (fdatasync(w->fd) < 0) {
		w->step = "fdatasync";
		return -1;
	}
	return 0;
}

/* Renames the durable temp file *fd (image_end bytes of image, end bytes in all) over
 * file_path and switches appends to it; *fd becomes -1 once the state owns it.  Returns
 * 0, or -1 with errno and *step naming the call that failed. */
static int install_file(struct state *st, int *fd, off_t image_end, off_t end, const char **step)
{
	if (rename(st->tmp_path, st->file_path) < 0) {
		*step = "rename";
		return -1;
	}
	/* From here the old file is unlinked: appends must go to the new one whatever happens. */
	int old_fd = st->fd;
	st->fd = *fd;
	*fd = -1;
	st->end = end;
	st->image_end = image_end;
	st->dirty = 0;
	st->broken_errno = 0;
	if (old_fd >= 0 && close(old_fd) < 0)
		log_warn("state %s: close of the replaced file: %s", st->path, strerror(errno));
	if (fsync_directory(st->dir_path) < 0) {
		/* The rename may not survive a crash, and appends to the new file with it. */
		st->broken_errno = errno;
		*step = "fsync of the directory";
		return -1;
	}
	return 0;
}

/* Writes a new file (header, then one PUT per journaled instance of reg, or none when
 * reg is NULL) to tmp_path, makes it durable, renames it over file_path and switches
 * appends to it.  Returns 0, or -1 with errno and w->step naming the call that failed. */
static int install_image(struct state *st, struct registry *reg, struct image_writer *w)
{
	w->fd = open_temp(st, &w->step);
	if (w->fd < 0)
		return -1;
	if (write_image(st, reg, w) < 0 || install_file(st, &w->fd, w->written, w->written, &w->step) < 0) {
		if (w->fd >= 0)
			discard_temp(st, w->fd);
		return -1;
	}
	return 0;
}

/* Collects a child that has reported its result (waiting for it when `block`). */
static void reap_child(struct state *st, int block)
{
	if (!st->reap_pid)
		return;
	pid_t got;
	while ((got = waitpid(st->reap_pid, NULL, block ? 0 : WNOHANG)) < 0 && errno == EINTR)
		;
	if (got != 0)
		st->reap_pid = 0;
}

/* Ends a background compaction that will not be installed: its child, its temp file,
 * the records kept for it. */
static void abandon_background(struct state *st)
{
	if (!st->child_pid)
		return;
	kill(st->child_pid, SIGKILL);
	while (waitpid(st->child_pid, NULL, 0) < 0 && errno == EINTR)
		;
	st->child_pid = 0;
	close(st->child_sock);
	st->child_sock = -1;
	discard_temp(st, st->child_fd);
	st->child_fd = -1;
	st->since_len = 0;
	st->since_failed = 0;
}

int state_compact(struct state *st, struct registry *reg, int64_t wall_minus_mono_ms,
		  const char *(*key_name)(void *arg, uint16_t owner_key), void *arg)
{
	struct image_writer w = { 0 };
	w.wall_minus_mono_ms = wall_minus_mono_ms;
	w.key_name = key_name;
	w.key_arg = arg;
	off_t before = st->end;
	int64_t started_ms = monotonic_ms();
	abandon_background(st);   /* this one writes everything, now */
	if (install_image(st, reg, &w) < 0) {
		int saved = errno;
		log_error("state %s: compaction failed: %s: %s", st->path, w.step, strerror(saved));
		errno = saved;
		return -1;
	}
	log_info("state %s: compacted %lld bytes into %lld (%zu instances) in %lld ms", st->path,
		 (long long)before, (long long)st->end, w.count, (long long)(monotonic_ms() - started_ms));
	return 0;
}

/* ---- compaction in a child process ---- */

int state_compact_start(struct state *st, struct registry *reg, int64_t wall_minus_mono_ms,
			const char *(*key_name)(void *arg, uint16_t owner_key), void *arg)
{
	struct image_writer w = { 0 };
	int sv[2];
	reap_child(st, 0);
	if (st->child_pid || st->reap_pid)
		return 0;        /* one is under way, or its child is still exiting */
	w.wall_minus_mono_ms = wall_minus_mono_ms;
	w.key_name = key_name;
	w.key_arg = arg;
	w.fd = open_temp(st, &w.step);
	if (w.fd < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		w.step = "socketpair";
		discard_temp(st, w.fd);
		goto fail;
	}
	int64_t fork_started_us = monotonic_us();
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		w.step = "fork";
		close(sv[0]);
		close(sv[1]);
		discard_temp(st, w.fd);
		errno = saved;
		goto fail;
	}
	if (pid == 0) {
		/* The child: its copy of the registry is the snapshot.  It leaves the loop's
		 * signals alone (libevent's handlers would wake the parent's loop) and exits
		 * without running the parent's exit handlers. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(sv[0]);
		/* On a core it shares with the loop (a pinned server), the child runs only
		 * when the loop has nothing to do: the loop never waits for a time slice. */
		struct sched_param idle = { 0 };
		sched_setscheduler(0, SCHED_IDLE, &idle);
		uint8_t result = 0;
		if (write_image(st, reg, &w) < 0) {
			log_error("state %s: compaction (child process): %s: %s", st->path, w.step,
				  strerror(errno));
			result = 1;
		}
		/* Then it waits until the parent closes its end: the child still holds the old
		 * file open, so when the parent has renamed over it and closed it, the child's
		 * exit is what frees the unlinked file's blocks, not a close in the loop (14 ms
		 * for a 55 MB file here). */
		if (write(sv[1], &result, 1) == 1)
			while (read(sv[1], &result, 1) > 0 || errno == EINTR)
				;
		_exit(result);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	st->child_sock = sv[0];
	st->child_pid = pid;
	st->child_fd = w.fd;
	st->child_started_ms = monotonic_ms();
	st->child_journal_bytes = st->end;
	st->since_len = 0;
	st->since_failed = 0;
	log_info("state %s: compacting in child process %d (fork took %lld us)", st->path, (int)pid,
		 (long long)(monotonic_us() - fork_started_us));
	return 0;
fail:;
	int saved = errno;
	log_error("state %s: compaction failed: %s: %s", st->path, w.step, strerror(saved));
	errno = saved;
	return -1;
}

/* Keeps a record appended while a child writes the image: the child's snapshot does
 * not have it, so it goes after the image in the new file. */
static void keep_since_fork(struct state *st, const uint8_t *rec, size_t len)
{
	if (st->since_failed)
		return;
	if (st->since_size - st->since_len < len) {
		size_t size = st->since_size ? st->since_size : SINCE_BUFFER_MIN;
		while (size - st->since_len < len)
			size *= 2;
		uint8_t *grown = realloc(st->since, size);
		if (!grown) {
			/* The child's file would miss this change: it must not be installed. */
			st->since_failed = 1;
			return;
		}
		st->since = grown;
		st->since_size = size;
	}
	memcpy(st->since + st->since_len, rec, len);
	st->since_len += len;
}

/* Lets a child that has reported go (it exits at the end of file on its socket); only
 * after the old file is closed, so that the child's exit frees it. */
static void release_child(struct state *st)
{
	close(st->child_sock);
	st->child_sock = -1;
	st->reap_pid = st->child_pid;
	st->child_pid = 0;
	reap_child(st, 0);
}

int state_compact_poll(struct state *st)
{
	int was_broken = st->broken_errno != 0;
	const char *step = NULL;
	uint8_t result = 1;
	reap_child(st, 0);
	if (!st->child_pid)
		return 0;
	ssize_t got = read(st->child_sock, &result, 1);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	int64_t finish_started_us = monotonic_us();
	int fd = st->child_fd;
	off_t before = st->end;
	st->child_fd = -1;
	struct stat info;
	if (got < 0) {
		step = "read of the child's result";
	} else if (got == 0 || result != 0) {
		step = "the child process";
		errno = EIO;
	} else if (st->since_failed) {
		step = "keeping the changes since the fork";
		errno = ENOMEM;
	} else if (fstat(fd, &info) < 0) {
		step = "fstat";
	} else if (write_all(fd, st->since, st->since_len, info.st_size) < 0) {
		step = "write";
	} else if (fdatasync(fd) < 0) {
		step = "fdatasync";
	} else if (install_file(st, &fd, info.st_size, info.st_size + (off_t)st->since_len, &step) == 0) {
		log_info("state %s: compacted %lld bytes into %lld in %lld ms in a child process "
			 "(%lld bytes appended while it ran; finishing took %lld us)", st->path,
			 (long long)st->child_journal_bytes, (long long)st->end,
			 (long long)(monotonic_ms() - st->child_started_ms),
			 (long long)(before - st->child_journal_bytes),
			 (long long)(monotonic_us() - finish_started_us));
		if (was_broken)
			log_info("state %s: rewritten; changes are accepted again", st->path);
		st->since_len = 0;
		release_child(st);
		return 1;
	}
	int saved = errno;
	if (fd >= 0)
		discard_temp(st, fd);
	release_child(st);
	st->since_len = 0;
	st->since_failed = 0;
	log_error("state %s: compaction failed: %s: %s", st->path, step, strerror(saved));
	errno = saved;
	return -1;
}

int state_compacting(const struct state *st)
{
	return st->child_pid != 0;
}

/* ---- opening and replay ---- */

/* Reads the file in large pieces; a record never straddles the end of the buffer
 * when it is looked at, because `want` first moves the unread rest to the front. */
struct file_reader {
	int fd;
	uint8_t *buf;            /* READ_BUFFER bytes */
	size_t len;              /* bytes in buf */
	size_t pos;              /* next unread byte in buf */
	off_t buf_offset;        /* file offset of buf[0] */
	int at_eof;
};

/* Makes `need` (at most STATE_RECORD_MAX) bytes readable at pos; 1 when they are, 0 when the
 * file ends first, -1 on a read error. */
static int reader_want(struct file_reader *r, size_t need)
{
	while (r->len - r->pos < need) {
		if (r->at_eof)
			return 0;
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->buf_offset += (off_t)r->pos;
			r->len -= r->pos;
			r->pos = 0;
		}
		ssize_t n = pread(r->fd, r->buf + r->len, READ_BUFFER - r->len, r->buf_offset + (off_t)r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			r->at_eof = 1;
		r->len += (size_t)n;
	}
	return 1;
}

enum read_result { READ_RECORD, READ_END, READ_DAMAGED, READ_ERROR };

/* Finds the next whole record with a matching checksum; on READ_DAMAGED *why says
 * what was wrong with the bytes at the current offset. */
static enum read_result read_record(const struct state *st, struct file_reader *r,
				    const uint8_t **payload, size_t *payload_len, const char **why)
{
	int have = reader_want(r, 4);
	if (have < 0)
		return READ_ERROR;
	if (have == 0) {
		*why = "cut short";
		return r->pos == r->len ? READ_END : READ_DAMAGED;
	}
	const uint8_t *rec = r->buf + r->pos;
	uint32_t len = state_record_payload_len(rec);
	if (len == 0 || len > STATE_PAYLOAD_MAX) {
		*why = "impossible length";
		return READ_DAMAGED;
	}
	have = reader_want(r, 4 + len + 4);
	if (have < 0)
		return READ_ERROR;
	if (have == 0) {
		*why = "cut short";
		return READ_DAMAGED;
	}
	rec = r->buf + r->pos;
	if (!state_record_crc_ok(&st->crc, rec, len)) {
		*why = "checksum mismatch";
		return READ_DAMAGED;
	}
	*payload = rec + 4;
	*payload_len = len;
	r->pos += 4 + len + 4;
	return READ_RECORD;
}

/* Checks the header; fills err and returns -1 when the file is not ours. */
static int check_header(struct state *st, off_t size, char err[STATE_ERROR_MAX])
{
	uint8_t header[STATE_HEADER_SIZE];
	if (size < STATE_HEADER_SIZE) {
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file (%lld bytes, shorter than the header)",
			 st->path, (long long)size);
		return -1;
	}
	ssize_t n = pread(st->fd, header, sizeof header, 0);
	if (n != (ssize_t)sizeof header) {
		snprintf(err, STATE_ERROR_MAX, "%s: read: %s", st->path, n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	uint64_t image_end = 0;
	uint32_t version = 0;
	switch (state_decode_header(&st->crc, header, &image_end, &version)) {
	case STATE_HEADER_OK:
		break;
	case STATE_HEADER_BAD_MAGIC:
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file (bad magic); refusing to touch it",
			 st->path);
		return -1;
	case STATE_HEADER_BAD_CRC:
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file (header checksum mismatch)", st->path);
		return -1;
	case STATE_HEADER_BAD_VERSION:
		snprintf(err, STATE_ERROR_MAX, "%s: not an svcdns state file this server reads "
			 "(format version %u, expected %u)", st->path, version, STATE_VERSION);
		return -1;
	}
	/* Only a compaction heuristic; a damaged image can make it point past the end. */
	st->image_end = image_end < STATE_HEADER_SIZE || image_end > (uint64_t)size ? STATE_HEADER_SIZE : (off_t)image_end;
	return 0;
}

/* Replays every record after the header, then cuts off a damaged tail. */
static int replay(struct state *st, const struct state_replay_ops *ops, char err[STATE_ERROR_MAX])
{
	int rc = -1;
	struct file_reader r = { .fd = st->fd, .buf_offset = STATE_HEADER_SIZE };
	struct state_record *record = calloc(1, sizeof *record);
	r.buf = malloc(READ_BUFFER);
	if (!record || !r.buf) {
		snprintf(err, STATE_ERROR_MAX, "%s: out of memory", st->path);
		goto out;
	}
	size_t kept = 0;
	const char *why = NULL;
	enum read_result res;
	for (;;) {
		const uint8_t *payload;
		size_t len;
		const char *kind_name = "";
		off_t at = r.buf_offset + (off_t)r.pos;
		res = read_record(st, &r, &payload, &len, &why);
		if (res != READ_RECORD)
			break;
		int delivered = deliver_record(payload, len, ops, record, &kind_name);
		if (delivered == -1) {
			snprintf(err, STATE_ERROR_MAX, "%s: byte %lld: malformed %s record with a valid "
				 "checksum (written by another program?); refusing to touch the file",
				 st->path, (long long)at, kind_name);
			goto out;
		}
		if (delivered == -2) {
			snprintf(err, STATE_ERROR_MAX, "%s: byte %lld: the %s record was refused",
				 st->path, (long long)at, kind_name);
			goto out;
		}
		kept++;
	}
	if (res == READ_ERROR) {
		snprintf(err, STATE_ERROR_MAX, "%s: read: %s", st->path, strerror(errno));
		goto out;
	}
	st->end = r.buf_offset + (off_t)r.pos;
	if (st->image_end > st->end)
		st->image_end = st->end;
	if (res == READ_DAMAGED) {
		off_t size = r.buf_offset + (off_t)r.len;
		log_warn("state %s: record at byte %lld %s: kept %zu records before it, cutting off "
			 "the last %lld bytes", st->path, (long long)st->end, why, kept,
			 (long long)(size - st->end));
		/* Cut now and make the cut durable, so new appends follow the last good record. */
		if (ftruncate(st->fd, st->end) < 0 || fdatasync(st->fd) < 0) {
			snprintf(err, STATE_ERROR_MAX, "%s: cutting off the damaged tail: %s",
				 st->path, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(r.buf);
	free(record);
	return rc;
}

static void free_state(struct state *st)
{
	abandon_background(st);
	reap_child(st, 1);
	free(st->since);
	if (st->fd >= 0 && close(st->fd) < 0)
		log_warn("state %s: close: %s", st->path, strerror(errno));
	free(st->path);
	free(st->file_path);
	free(st->tmp_path);
	free(st->dir_path);
	free(st);
}

/* Derives the temp file and the directory from the resolved path: through a symbolic
 * link, the rename must replace the file it points to, not the link. */
static int set_paths(struct state *st)
{
	st->file_path = realpath(st->path, NULL);
	if (!st->file_path)
		return -1;
	const char *slash = strrchr(st->file_path, '/');  /* realpath gives an absolute path */
	size_t len = strlen(st->file_path);
	st->dir_path = slash == st->file_path ? strdup("/") : strndup(st->file_path, (size_t)(slash - st->file_path));
	st->tmp_path = malloc(len + sizeof ".tmp");
	if (!st->dir_path || !st->tmp_path)
		return -1;
	memcpy(st->tmp_path, st->file_path, len);
	memcpy(st->tmp_path + len, ".tmp", sizeof ".tmp");
	return 0;
}

struct state *state_open(const char *path, const struct state_replay_ops *ops, char err[STATE_ERROR_MAX])
{
	struct stat info;
	struct state *st = calloc(1, sizeof *st);
	if (!st) {
		snprintf(err, STATE_ERROR_MAX, "%s: out of memory", path);
		return NULL;
	}
	st->fd = -1;
	st->child_fd = -1;
	st->child_sock = -1;
	state_crc_init(&st->crc);
	st->path = strdup(path);
	if (!st->path) {
		snprintf(err, STATE_ERROR_MAX, "%s: out of memory", path);
		goto fail;
	}
	st->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->fd < 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: open: %s", path, strerror(errno));
		goto fail;
	}
	if (lock_file(st->fd, path) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, STATE_ERROR_MAX, "%s: in use by another svcdns process", path);
		else
			snprintf(err, STATE_ERROR_MAX, "%s: lock: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(st->fd, &info) < 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: stat: %s", path, strerror(errno));
		goto fail;
	}
	/* A device or a FIFO would look empty, and the rename below would replace it. */
	if (!S_ISREG(info.st_mode)) {
		snprintf(err, STATE_ERROR_MAX, "%s: not a regular file", path);
		goto fail;
	}
	if (set_paths(st) < 0) {
		snprintf(err, STATE_ERROR_MAX, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (info.st_size == 0) {
		/* New (or empty): write the header the same atomic way compaction does, so a
		 * crash can never leave a half-written header that we would then refuse. */
		struct image_writer w = { 0 };
		if (install_image(st, NULL, &w) < 0) {
			snprintf(err, STATE_ERROR_MAX, "%s: creating: %s: %s", path, w.step, strerror(errno));
			goto fail;
		}
		return st;
	}
	if (check_header(st, info.st_size, err) < 0 || replay(st, ops, err) < 0)
		goto fail;
	return st;
fail:
	free_state(st);
	return NULL;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	if (st->dirty && !st->broken_errno && fdatasync(st->fd) < 0)
		log_error("state %s: fdatasync on close: %s", st->path, strerror(errno));
	free_state(st);
}

/* ---- appends and commits ---- */

static int append_record(struct state *st, const uint8_t *rec, size_t len)
{
	if (st->broken_errno) {
		errno = st->broken_errno;
		return -1;
	}
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (write_all(st->fd, rec, len, st->end) < 0) {
		int saved = errno;
		/* A torn record would hide every later one from replay: cut it off. */
		if (ftruncate(st->fd, st->end) < 0) {
			log_error("state %s: cannot cut off a failed append (%s): refusing changes "
				  "until a compaction rewrites the file", st->path, strerror(errno));
			st->broken_errno = saved;
		}
		errno = saved;
		return -1;
	}
	st->end += (off_t)len;
	st->dirty = 1;
	if (st->child_pid)
		keep_since_fork(st, rec, len);
	return 0;
}

int state_append_put(struct state *st, const struct instance_spec *spec, int64_t expires_wall_ms,
		     const char *key_name)
{
	uint8_t rec[STATE_RECORD_MAX];
	return append_record(st, rec, state_encode_put(&st->crc, rec, spec, expires_wall_ms, key_name));
}

int state_append_renew(struct state *st, const char *service, const char *instance,
		       int64_t expires_wall_ms)
{
	uint8_t rec[STATE_RECORD_MAX];
	return append_record(st, rec, state_encode_name_record(&st->crc, rec, STATE_RECORD_RENEW, service, instance,
							 expires_wall_ms));
}

int state_append_split(struct state *st, const struct split *sp)
{
	uint8_t rec[STATE_RECORD_MAX];
	return append_record(st, rec, state_encode_split(&st->crc, rec, sp));
}

int state_append_remove(struct state *st, const char *service, const char *instance)
{
	uint8_t rec[STATE_RECORD_MAX];
	return append_record(st, rec, state_encode_name_record(&st->crc, rec, STATE_RECORD_REMOVE, service, instance, 0));
}

/* A failed commit leaves the state clean as well as broken: the changes it covered
 * are refused by the caller, a retry cannot make them durable, and a caller that
 * commits only while dirty goes on to the compaction that repairs the file. */
int state_commit(struct state *st)
{
	if (st->broken_errno) {
		st->dirty = 0;
		errno = st->broken_errno;
		return -1;
	}
	if (!st->dirty)
		return 0;
	if (fdatasync(st->fd) < 0) {
		/* Linux may have dropped the pages it could not write, so a second fdatasync
		 * could succeed without them: trust nothing until a compaction. */
		int saved = errno;
		st->broken_errno = saved;
		st->dirty = 0;
		log_error("state %s: fdatasync: %s: refusing changes until a compaction rewrites "
			  "the file", st->path, strerror(saved));
		errno = saved;
		return -1;
	}
	st->dirty = 0;
	return 0;
}

int state_dirty(const struct state *st)
{
	return st->dirty;
}

/* Compaction rewrites the whole image, so it pays off once the journal behind the
 * image has grown past twice the image (each compacted byte then retires at least two
 * journal bytes, and replay reads at most three times the live data); the 1 MiB floor
 * keeps a small registry from being rewritten over and over.  A broken state always
 * wants one: compaction is how it recovers. */
int state_wants_compaction(const struct state *st)
{
	off_t journal = st->end - st->image_end;
	if (st->child_pid)
		return 0;        /* one is under way */
	if (st->broken_errno)
		return 1;
	return journal > COMPACT_MIN_JOURNAL && journal > 2 * st->image_end;
}

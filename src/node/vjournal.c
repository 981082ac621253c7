/* vjournal.c — see vjournal.h (protocol.md §15). */
#include "vjournal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb_hash.h"

static const char magic[6] = { 'S', 'B', 'V', 'J', '1', '\n' };
#define HDR (sizeof magic + 8 + 32 + 4)

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    sb_sha256v(out, 1, (const void *)p, n);
    return 0;
}

int sb_vjournal_lock(const char *path, char *err, size_t errlen)
{
    char lp[4200];
    int fd;
    if (snprintf(lp, sizeof lp, "%s.lock", path) >= (int)sizeof lp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", lp, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return -2;
        snprintf(err, errlen, "%s: flock: %s", lp, strerror(e));
        return -1;
    }
    return fd;
}

void sb_vjournal_unlock(int fd)
{
    if (fd < 0)
        return;
    flock(fd, LOCK_UN);
    close(fd);
}

void sb_vjournal_rec_free(sb_vjournal_rec *r)
{
    free(r->tx);
    memset(r, 0, sizeof *r);
}

int sb_vjournal_read(const char *path, sb_vjournal_rec *out, char *err, size_t errlen)
{
    int rc = -1, fd = -1;
    uint8_t *buf = NULL, h[32];
    struct stat st;
    size_t n = 0, txlen;
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
        goto done;
    }
    if (st.st_size < (off_t)(HDR + 32) || st.st_size > (off_t)(HDR + SB_VJOURNAL_TX_MAX + 32)) {
        snprintf(err, errlen, "%s: %lld bytes is not a whole record (torn write?)", path,
                 (long long)st.st_size);
        rc = 0;
        goto done;
    }
    if (!(buf = malloc((size_t)st.st_size))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    txlen = (size_t)buf[HDR - 4] << 24 | (size_t)buf[HDR - 3] << 16 | (size_t)buf[HDR - 2] << 8 |
            buf[HDR - 1];
    rc = 0;
    if (memcmp(buf, magic, sizeof magic) != 0) {
        snprintf(err, errlen, "%s: not a vote journal (bad magic)", path);
        goto done;
    }
    if (txlen == 0 || txlen > SB_VJOURNAL_TX_MAX || n != HDR + txlen + 32) {
        snprintf(err, errlen, "%s: record length %zu does not match the file (torn write?)", path,
                 txlen);
        goto done;
    }
    if (sha256(buf, HDR + txlen, h) != 0 || memcmp(h, buf + HDR + txlen, 32) != 0) {
        snprintf(err, errlen, "%s: checksum mismatch (torn write?)", path);
        goto done;
    }
    if (!(out->tx = malloc(txlen))) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -1;
        goto done;
    }
    for (int i = 0; i < 8; i++)
        out->slot = out->slot << 8 | buf[sizeof magic + (size_t)i];
    memcpy(out->proposal_id, buf + sizeof magic + 8, 32);
    memcpy(out->tx, buf + HDR, txlen);
    out->txlen = txlen;
    rc = 1;
done:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* fsync the directory holding path (makes the rename durable). */
static int fsync_dir(const char *path)
{
    char dir[4200];
    const char *slash = strrchr(path, '/');
    int fd, rc;
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)(slash - path) >= sizeof dir)
        return -1;
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

int sb_vjournal_write(const char *path, const sb_vjournal_rec *r, char *err, size_t errlen)
{
    char tmp[4200];
    uint8_t *buf = NULL;
    size_t n, off = 0;
    int fd = -1, rc = -1;
    if (r->txlen == 0 || r->txlen > SB_VJOURNAL_TX_MAX) {
        snprintf(err, errlen, "%s: tx length %zu outside [1, %u]", path, r->txlen,
                 SB_VJOURNAL_TX_MAX);
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    n = HDR + r->txlen + 32;
    if (!(buf = malloc(n))) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    memcpy(buf, magic, sizeof magic);
    for (int i = 0; i < 8; i++)
        buf[sizeof magic + (size_t)i] = (uint8_t)(r->slot >> (56 - 8 * i));
    memcpy(buf + sizeof magic + 8, r->proposal_id, 32);
    buf[HDR - 4] = (uint8_t)(r->txlen >> 24);
    buf[HDR - 3] = (uint8_t)(r->txlen >> 16);
    buf[HDR - 2] = (uint8_t)(r->txlen >> 8);
    buf[HDR - 1] = (uint8_t)r->txlen;
    memcpy(buf + HDR, r->tx, r->txlen);
    if (sha256(buf, HDR + r->txlen, buf + HDR + r->txlen) != 0) {
        snprintf(err, errlen, "%s: SHA-256 failed", path);
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "%s: close: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
        goto done;
    }
    if (fsync_dir(path) != 0) {
        snprintf(err, errlen, "%s: fsync of its directory: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    free(buf);
    return rc;
}

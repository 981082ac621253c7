/* keys.c — key files and the `keys` command (protocol.md §12; see keys.h). */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "cli.h"
#include "ed25519.h"
#include "rpc.h"
#include "sb_buf.h"

#define KEY_FILE_MAX (64u * 1024u)

int cli_keys_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > CLI_KEY_NAME_MAX || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int cli_keys_path(const char *home, const char *name, char *out, size_t outlen)
{
    if (!cli_keys_name_ok(name))
        return -1;
    int n = snprintf(out, outlen, "%s/keys/%s.json", home, name);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* mkdir 0700 unless it exists as a directory. 0 / -1 with err. */
static int ensure_dir(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    snprintf(err, errlen, "cannot create directory %s: %s", path,
             errno == EEXIST ? "exists and is not a directory" : strerror(errno));
    return -1;
}

int cli_keys_new(const char *home, const char *name, uint8_t pub[32], char *err, size_t errlen)
{
    char path[4200], dir[4200];
    uint8_t seed[32];
    char seedhex[65], pubhex[65];
    char text[512];
    int fd = -1, ret = CLI_EXIT_USAGE;

    if (!cli_keys_name_ok(name)) {
        snprintf(err, errlen,
                 "key name \"%s\": use 1-%d characters of A-Z a-z 0-9 . _ - "
                 "(not starting with . or -)",
                 name, CLI_KEY_NAME_MAX);
        return CLI_EXIT_USAGE;
    }
    if (cli_keys_path(home, name, path, sizeof path) < 0 ||
        snprintf(dir, sizeof dir, "%s/keys", home) >= (int)sizeof dir) {
        snprintf(err, errlen, "--home path is too long");
        return CLI_EXIT_USAGE;
    }
    if (ensure_dir(home, err, errlen) < 0 || ensure_dir(dir, err, errlen) < 0)
        return CLI_EXIT_USAGE;
    if (RAND_bytes(seed, sizeof seed) != 1 || sb_ed25519_pubkey(seed, pub) < 0) {
        snprintf(err, errlen, "cannot generate a key (OpenSSL RAND_bytes failed)");
        goto done;
    }
    sb_hex(seed, 32, seedhex);
    sb_hex(pub, 32, pubhex);
    /* name is [A-Za-z0-9._-] and the rest hex: nothing to escape, and the seed never passes
   * through an allocator we cannot wipe. */
    int tl = snprintf(text, sizeof text,
                      "{\n  \"name\": \"%s\",\n  \"pubkey\": \"%s\",\n"
                      "  \"seed\": \"%s\"\n}\n",
                      name, pubhex, seedhex);
    if (tl < 0 || (size_t)tl >= sizeof text) {
        snprintf(err, errlen, "key file too long");
        goto done;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            snprintf(err, errlen, "key %s already exists (%s); choose another name", name, path);
        else
            snprintf(err, errlen, "cannot create key %s (%s): %s", name, path, strerror(errno));
        goto done;
    }
    size_t len = (size_t)tl, off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off < len || fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write key file %s: %s", path, strerror(errno));
        close(fd);
        fd = -1;
        unlink(path);
        goto done;
    }
    ret = CLI_EXIT_OK;
done:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(text, sizeof text);
    OPENSSL_cleanse(seed, sizeof seed);
    OPENSSL_cleanse(seedhex, sizeof seedhex);
    return ret;
}

int cli_keys_parse(const char *text, uint8_t seed[32], uint8_t pub[32], char *err, size_t errlen)
{
    json_error_t je;
    uint8_t derived[32];
    int ret = -1;
    json_t *o = json_loads(text, 0, &je);
    if (!o || !json_is_object(o)) {
        snprintf(err, errlen, "not a JSON object (line %d: %s)", je.line, o ? "" : je.text);
        goto done;
    }
    const char *s = json_string_value(json_object_get(o, "seed"));
    const char *p = json_string_value(json_object_get(o, "pubkey"));
    if (!s || sb_unhex(s, seed, 32) < 0) {
        snprintf(err, errlen, "seed: expected 64 hex digits");
        goto done;
    }
    if (!p || sb_unhex(p, pub, 32) < 0) {
        snprintf(err, errlen, "pubkey: expected 64 hex digits");
        goto done;
    }
    if (sb_ed25519_pubkey(seed, derived) < 0 || memcmp(derived, pub, 32) != 0) {
        snprintf(err, errlen, "pubkey: is not the public key of seed");
        goto done;
    }
    ret = 0;
done:
    if (ret)
        OPENSSL_cleanse(seed, 32);
    json_decref(o);
    return ret;
}

int cli_keys_load(const char *home, const char *name, uint8_t seed[32], uint8_t pub[32], char *err,
                  size_t errlen)
{
    char path[4200], why[256];
    char *text = NULL;
    size_t len;
    if (cli_keys_path(home, name, path, sizeof path) < 0) {
        snprintf(err, errlen, "key name \"%s\" is not valid (A-Z a-z 0-9 . _ -)", name);
        return -1;
    }
    if (cli_read_file(path, KEY_FILE_MAX, &text, &len, why, sizeof why) < 0) {
        if (access(path, F_OK) != 0)
            snprintf(err, errlen,
                     "no key named \"%s\" (%s); create it with `sleetbubble keys new "
                     "%s`",
                     name, path, name);
        else
            snprintf(err, errlen, "%s", why);
        return -1;
    }
    int rc = cli_keys_parse(text, seed, pub, why, sizeof why);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

/* The base64 "value" of obj[field] decoded to exactly n bytes, type checked. */
static int pv_field(json_t *o, const char *field, const char *type, uint8_t *out, size_t n,
                    char *err, size_t errlen)
{
    json_t *f = json_object_get(o, field);
    const char *t = json_string_value(json_object_get(f, "type"));
    const char *v = json_string_value(json_object_get(f, "value"));
    size_t got = 0;
    uint8_t *b = NULL;
    if (!json_is_object(f) || !v) {
        snprintf(err, errlen, "%s.value: missing", field);
        return -1;
    }
    if (t && strcmp(t, type) != 0) {
        snprintf(err, errlen, "%s.type: \"%s\" is not %s (only Ed25519 validators can vote)", field,
                 t, type);
        return -1;
    }
    if (!(b = sb_b64_decode(v, &got)) || got != n) {
        snprintf(err, errlen, "%s.value: expected base64 of %zu bytes", field, n);
        if (b)
            OPENSSL_cleanse(b, got);
        free(b);
        return -1;
    }
    memcpy(out, b, n);
    OPENSSL_cleanse(b, got);
    free(b);
    return 0;
}

int cli_keys_parse_priv_validator(const char *text, uint8_t seed[32], uint8_t pub[32], char *err,
                                  size_t errlen)
{
    json_error_t je;
    uint8_t priv[64], derived[32];
    int ret = -1;
    json_t *o = json_loads(text, 0, &je);
    if (!o || !json_is_object(o)) {
        snprintf(err, errlen, "not a JSON object (line %d: %s)", je.line, o ? "" : je.text);
        goto done;
    }
    if (pv_field(o, "pub_key", "tendermint/PubKeyEd25519", pub, 32, err, errlen) < 0 ||
        pv_field(o, "priv_key", "tendermint/PrivKeyEd25519", priv, 64, err, errlen) < 0)
        goto done;
    memcpy(seed, priv, 32);
    if (sb_ed25519_pubkey(seed, derived) < 0 || memcmp(derived, priv + 32, 32) != 0) {
        snprintf(err, errlen, "priv_key.value: its second half is not the public key of its seed");
        goto done;
    }
    if (memcmp(derived, pub, 32) != 0) {
        snprintf(err, errlen, "pub_key.value: does not match priv_key");
        goto done;
    }
    ret = 0;
done:
    if (ret)
        OPENSSL_cleanse(seed, 32);
    OPENSSL_cleanse(priv, sizeof priv);
    json_decref(o);
    return ret;
}

int cli_keys_load_priv_validator(const char *path, uint8_t seed[32], uint8_t pub[32], char *err,
                                 size_t errlen)
{
    char *text = NULL, why[256];
    size_t len;
    if (cli_read_file(path, KEY_FILE_MAX, &text, &len, err, errlen) < 0)
        return -1;
    int rc = cli_keys_parse_priv_validator(text, seed, pub, why, sizeof why);
    OPENSSL_cleanse(text, len);
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

int cli_cmd_keys(cli_ctx *c)
{
    char err[512], hex[65];
    uint8_t seed[32], pub[32];
    const char *sub = c->nargs > 0 ? c->args[0] : NULL;
    if (!sub || c->nargs != 2 || (strcmp(sub, "new") != 0 && strcmp(sub, "show") != 0)) {
        cli_errf("usage: sleetbubble keys new NAME | keys show NAME");
        return CLI_EXIT_USAGE;
    }
    const char *name = c->args[1];
    if (strcmp(sub, "new") == 0) {
        int rc = cli_keys_new(c->home, name, pub, err, sizeof err);
        if (rc) {
            cli_errf("%s", err);
            return rc;
        }
    } else {
        if (cli_keys_load(c->home, name, seed, pub, err, sizeof err) < 0) {
            cli_errf("%s", err);
            return CLI_EXIT_USAGE;
        }
        OPENSSL_cleanse(seed, sizeof seed);
    }
    sb_hex(pub, 32, hex);
    if (c->json)
        cli_print_json(c, json_pack("{s:s, s:s}", "name", name, "pubkey", hex));
    else
        printf("%s\n", hex);
    return CLI_EXIT_OK;
}

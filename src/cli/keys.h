/* keys.h — the CLI's Ed25519 keys (curator and vote keys, protocol.md §12) and CometBFT's
 * priv_validator_key.json (consensus key, protocol.md §4 votes).
 * Key file HOME/keys/NAME.json, mode 0600, created with O_EXCL:
 *   {"name":"NAME","pubkey":"<64 hex>","seed":"<64 hex>"}
 * Seeds are the 32-byte RFC 8032 secret; callers OPENSSL_cleanse them after use. */
#ifndef SB_CLI_KEYS_H
#define SB_CLI_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define CLI_KEY_NAME_MAX 64

/* 1 iff name is 1..64 characters of [A-Za-z0-9._-] not starting with '.' or '-'. */
int cli_keys_name_ok(const char *name);

/* HOME/keys/NAME.json into out[outlen]. 0, or -1 (bad name or too long). */
int cli_keys_path(const char *home, const char *name, char *out, size_t outlen);

/* Create a new key: seed from OpenSSL RAND_bytes, HOME and HOME/keys made 0700 if missing,
 * the file created 0600 with O_EXCL (an existing key is never overwritten). pub receives
 * the public key. Returns a CLI exit status (0, or CLI_EXIT_USAGE with err). */
int cli_keys_new(const char *home, const char *name, uint8_t pub[32], char *err, size_t errlen);

/* Parse a key file's JSON text: seed and pubkey must both be 64 hex digits and pubkey must
 * be the seed's public key. 0, or -1 with err naming the field. */
int cli_keys_parse(const char *text, uint8_t seed[32], uint8_t pub[32], char *err, size_t errlen);

/* Load HOME/keys/NAME.json. 0, or -1 with err naming the file. */
int cli_keys_load(const char *home, const char *name, uint8_t seed[32], uint8_t pub[32], char *err,
                  size_t errlen);

/* Parse CometBFT's priv_validator_key.json text:
 *   {"pub_key":{"type":"tendermint/PubKeyEd25519","value":"<base64 32 bytes>"},
 *    "priv_key":{"type":"tendermint/PrivKeyEd25519","value":"<base64 64 bytes seed‖pub>"}}
 * The types, if present, must be the Ed25519 ones; the seed's public key must equal both
 * the second half of priv_key and pub_key. 0, or -1 with err naming the field. */
int cli_keys_parse_priv_validator(const char *text, uint8_t seed[32], uint8_t pub[32], char *err,
                                  size_t errlen);

/* Read and parse a priv_validator_key.json file. 0 / -1 with err naming the file. */
int cli_keys_load_priv_validator(const char *path, uint8_t seed[32], uint8_t pub[32], char *err,
                                 size_t errlen);

#endif

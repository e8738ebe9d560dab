/* fuzz_pwhash.c: a fast stand-in for libsodium's Argon2id, linked with -Wl,--wrap so that auth.c
 * calls it. A real hash takes 64 MiB and a good part of a second, which would hold a fuzz target
 * to a few inputs a second and hide everything after a login behind it. The stand-in's hash of p
 * is "$fuzz$" followed by p (cut to fit): verifying compares, and libsodium's needs_rehash, which
 * is not wrapped, calls every such hash outdated, so the rehash path runs too. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

int __wrap_crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *const passwd,
                             unsigned long long passwdlen, unsigned long long opslimit,
                             size_t memlimit);
int __wrap_crypto_pwhash_str_verify(const char *str, const char *const passwd,
                                    unsigned long long passwdlen);

#define PREFIX "$fuzz$"

int __wrap_crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *const passwd,
                             unsigned long long passwdlen, unsigned long long opslimit,
                             size_t memlimit)
{
    (void)opslimit;
    (void)memlimit;
    int room = (int)(crypto_pwhash_STRBYTES - sizeof PREFIX);
    snprintf(out, crypto_pwhash_STRBYTES, PREFIX "%.*s",
             passwdlen < (unsigned long long)room ? (int)passwdlen : room, passwd);
    return 0;
}

int __wrap_crypto_pwhash_str_verify(const char *str, const char *const passwd,
                                    unsigned long long passwdlen)
{
    char expected[crypto_pwhash_STRBYTES];
    __wrap_crypto_pwhash_str(expected, passwd, passwdlen, 0, 0);
    return strcmp(str, expected) == 0 ? 0 : -1;
}

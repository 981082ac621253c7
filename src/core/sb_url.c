/* sb_url.c — see sb_url.h. */
#include "sb_url.h"

#include <stdio.h>
#include <string.h>

int sb_url_for_log(const char *url, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return -1;
    if (!url)
        url = "";
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : url;
    const char *end = auth + strcspn(auth, "?#");
    const char *at = NULL, *colon = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (at)
        colon = memchr(auth, ':', (size_t)(at - auth));
    int n = colon ? snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at)
                  : snprintf(out, outlen, "%s", url);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

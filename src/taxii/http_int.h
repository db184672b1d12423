/* strait: what http.c and http_parse.c share, not part of the contract. */
#ifndef STRAIT_TAXII_HTTP_INT_H
#define STRAIT_TAXII_HTTP_INT_H

#include "taxii/http.h"

/* Releases everything resp holds (headers, body storage, an unsent
   stream's argument); resp can be reused after buf_init of its body. */
void http_response_release(struct http_response *resp);

#endif

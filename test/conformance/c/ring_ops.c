/*
 * A small interpreter of ring operations over one shared page, built with the real ring.h macros and the
 * netif.h types. Compile with -DRING_TX (netif_tx) or -DRING_RX (netif_rx). The conformance runner feeds it
 * one operation per line on stdin and reads one JSON object per line on stdout, then runs the same script
 * through pvnet's ring library and compares the two line by line (results, private indices, page hash).
 *
 * Operations (numbers are decimal; indices are u32):
 *   init                    SHARED_RING_INIT, FRONT_RING_INIT, BACK_RING_INIT
 *   start I                 SHARED_RING_INIT, then producers I, events I+1, both ends attached at I
 *   attach_front I          FRONT_RING_ATTACH at I
 *   attach_back I           BACK_RING_ATTACH at I
 *   attach_back_rsp_prod    BACK_RING_ATTACH at the shared rsp_prod (what Linux netback does)
 *   set FIELD V             store V into shared req_prod | req_event | rsp_prod | rsp_event (a hostile peer)
 *   req F...                write a request at req_prod_pvt through RING_GET_REQUEST, then req_prod_pvt++
 *                           (TX: gref offset flags id size; RX: id pad gref)
 *   rsp F...                write a response at rsp_prod_pvt through RING_GET_RESPONSE, then rsp_prod_pvt++
 *                           (TX: id status; RX: id offset flags status)
 *   xreq T FL B0..B5        write a netif_extra_info (type, flags, 6 union bytes) as the next request
 *   xrsp T FL B0..B5        the same as the next response
 *   push_req | push_rsp     RING_PUSH_{REQUESTS,RESPONSES}_AND_CHECK_NOTIFY -> "notify"
 *   final_req | final_rsp   RING_FINAL_CHECK_FOR_{REQUESTS,RESPONSES} -> "work" (0 or 1)
 *   copy_req | copy_rsp     RING_COPY_{REQUEST,RESPONSE} at req_cons / rsp_cons, then ++ -> "req" / "rsp"
 *   copy_xreq | copy_xrsp   the same into a netif_extra_info -> "extra"
 *   counts                  free requests, unconsumed counts, the three overflow checks
 *   load FILE | save FILE   read / write the page
 * Every output line also carries the private indices ("pvt"), the shared indices ("s") and an FNV-1a hash of
 * the page ("h").
 */
#include "prelude.h"

#if defined(RING_TX)
typedef netif_tx_sring_t sring_t;
typedef netif_tx_front_ring_t front_t;
typedef netif_tx_back_ring_t back_t;
typedef netif_tx_request_t req_t;
typedef netif_tx_response_t rsp_t;
#elif defined(RING_RX)
typedef netif_rx_sring_t sring_t;
typedef netif_rx_front_ring_t front_t;
typedef netif_rx_back_ring_t back_t;
typedef netif_rx_request_t req_t;
typedef netif_rx_response_t rsp_t;
#else
#error "define RING_TX or RING_RX"
#endif

#define PAGE 4096

static union {
    sring_t s;
    unsigned char bytes[PAGE];
} page __attribute__((aligned(PAGE)));
static sring_t *const sring = &page.s;
static front_t front;
static back_t back;

static uint32_t page_hash(void)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < PAGE; i++) {
        h ^= page.bytes[i];
        h *= 16777619u;
    }
    return h;
}

static void print_req(const req_t *r)
{
#if defined(RING_TX)
    printf("\"req\":{\"gref\":%u,\"offset\":%u,\"flags\":%u,\"id\":%u,\"size\":%u}",
           (unsigned)r->gref, (unsigned)r->offset, (unsigned)r->flags, (unsigned)r->id, (unsigned)r->size);
#else
    printf("\"req\":{\"id\":%u,\"pad\":%u,\"gref\":%u}", (unsigned)r->id, (unsigned)r->pad, (unsigned)r->gref);
#endif
}

static void print_rsp(const rsp_t *r)
{
#if defined(RING_TX)
    printf("\"rsp\":{\"id\":%u,\"status\":%d}", (unsigned)r->id, (int)r->status);
#else
    printf("\"rsp\":{\"id\":%u,\"offset\":%u,\"flags\":%u,\"status\":%d}",
           (unsigned)r->id, (unsigned)r->offset, (unsigned)r->flags, (int)r->status);
#endif
}

static void print_extra(const struct netif_extra_info *x)
{
    const unsigned char *u = (const unsigned char *)&x->u;
    printf("\"extra\":{\"type\":%u,\"flags\":%u,\"u\":[%u,%u,%u,%u,%u,%u]}", (unsigned)x->type, (unsigned)x->flags,
           u[0], u[1], u[2], u[3], u[4], u[5]);
}

static int parse_extra(const char *args, struct netif_extra_info *x)
{
    unsigned t, fl, b[6];
    if (sscanf(args, "%u %u %u %u %u %u %u %u", &t, &fl, &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 8)
        return -1;
    x->type = (uint8_t)t;
    x->flags = (uint8_t)fl;
    for (int i = 0; i < 6; i++)
        ((unsigned char *)&x->u)[i] = (unsigned char)b[i];
    return 0;
}

static void fail(const char *line)
{
    fprintf(stderr, "ring_ops: bad line: %s\n", line);
    exit(2);
}

int main(void)
{
    char line[512];
    FRONT_RING_INIT(&front, sring, PAGE);
    BACK_RING_INIT(&back, sring, PAGE);
    while (fgets(line, sizeof line, stdin) != NULL) {
        char op[32] = "", arg[480] = "";
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (sscanf(line, "%31s %479[^\n]", op, arg) < 1)
            fail(line);
        printf("{\"op\":\"%s\"", op);
        if (strcmp(op, "init") == 0) {
            SHARED_RING_INIT(sring);
            FRONT_RING_INIT(&front, sring, PAGE);
            BACK_RING_INIT(&back, sring, PAGE);
        } else if (strcmp(op, "start") == 0) {
            unsigned i;
            if (sscanf(arg, "%u", &i) != 1)
                fail(line);
            SHARED_RING_INIT(sring);
            sring->req_prod = sring->rsp_prod = i;
            sring->req_event = sring->rsp_event = i + 1;
            FRONT_RING_ATTACH(&front, sring, i, PAGE);
            BACK_RING_ATTACH(&back, sring, i, PAGE);
        } else if (strcmp(op, "attach_front") == 0 || strcmp(op, "attach_back") == 0) {
            unsigned i;
            if (sscanf(arg, "%u", &i) != 1)
                fail(line);
            if (op[7] == 'f')
                FRONT_RING_ATTACH(&front, sring, i, PAGE);
            else
                BACK_RING_ATTACH(&back, sring, i, PAGE);
        } else if (strcmp(op, "attach_back_rsp_prod") == 0) {
            BACK_RING_ATTACH(&back, sring, sring->rsp_prod, PAGE);
        } else if (strcmp(op, "set") == 0) {
            char field[32];
            unsigned v;
            if (sscanf(arg, "%31s %u", field, &v) != 2)
                fail(line);
            if (strcmp(field, "req_prod") == 0) sring->req_prod = v;
            else if (strcmp(field, "req_event") == 0) sring->req_event = v;
            else if (strcmp(field, "rsp_prod") == 0) sring->rsp_prod = v;
            else if (strcmp(field, "rsp_event") == 0) sring->rsp_event = v;
            else fail(line);
        } else if (strcmp(op, "req") == 0) {
            req_t *r = RING_GET_REQUEST(&front, front.req_prod_pvt);
#if defined(RING_TX)
            unsigned gref, offset, flags, id, size;
            if (sscanf(arg, "%u %u %u %u %u", &gref, &offset, &flags, &id, &size) != 5)
                fail(line);
            r->gref = gref; r->offset = (uint16_t)offset; r->flags = (uint16_t)flags;
            r->id = (uint16_t)id; r->size = (uint16_t)size;
#else
            unsigned id, pad, gref;
            if (sscanf(arg, "%u %u %u", &id, &pad, &gref) != 3)
                fail(line);
            r->id = (uint16_t)id; r->pad = (uint16_t)pad; r->gref = gref;
#endif
            front.req_prod_pvt++;
        } else if (strcmp(op, "rsp") == 0) {
            rsp_t *r = RING_GET_RESPONSE(&back, back.rsp_prod_pvt);
#if defined(RING_TX)
            unsigned id;
            int status;
            if (sscanf(arg, "%u %d", &id, &status) != 2)
                fail(line);
            r->id = (uint16_t)id; r->status = (int16_t)status;
#else
            unsigned id, offset, flags;
            int status;
            if (sscanf(arg, "%u %u %u %d", &id, &offset, &flags, &status) != 4)
                fail(line);
            r->id = (uint16_t)id; r->offset = (uint16_t)offset; r->flags = (uint16_t)flags; r->status = (int16_t)status;
#endif
            back.rsp_prod_pvt++;
        } else if (strcmp(op, "xreq") == 0) {
            struct netif_extra_info *x = (struct netif_extra_info *)RING_GET_REQUEST(&front, front.req_prod_pvt);
            if (parse_extra(arg, x) != 0)
                fail(line);
            front.req_prod_pvt++;
        } else if (strcmp(op, "xrsp") == 0) {
            struct netif_extra_info *x = (struct netif_extra_info *)RING_GET_RESPONSE(&back, back.rsp_prod_pvt);
            if (parse_extra(arg, x) != 0)
                fail(line);
            back.rsp_prod_pvt++;
        } else if (strcmp(op, "push_req") == 0) {
            int notify;
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
            printf(",\"notify\":%d", notify ? 1 : 0);
        } else if (strcmp(op, "push_rsp") == 0) {
            int notify;
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
            printf(",\"notify\":%d", notify ? 1 : 0);
        } else if (strcmp(op, "final_req") == 0) {
            int work;
            RING_FINAL_CHECK_FOR_REQUESTS(&back, work);
            printf(",\"work\":%d", work ? 1 : 0);
        } else if (strcmp(op, "final_rsp") == 0) {
            int work;
            RING_FINAL_CHECK_FOR_RESPONSES(&front, work);
            printf(",\"work\":%d", work ? 1 : 0);
        } else if (strcmp(op, "copy_req") == 0) {
            req_t r;
            RING_COPY_REQUEST(&back, back.req_cons, &r);
            back.req_cons++;
            putchar(',');
            print_req(&r);
        } else if (strcmp(op, "copy_rsp") == 0) {
            rsp_t r;
            RING_COPY_RESPONSE(&front, front.rsp_cons, &r);
            front.rsp_cons++;
            putchar(',');
            print_rsp(&r);
        } else if (strcmp(op, "copy_xreq") == 0) {
            struct netif_extra_info x;
            RING_COPY_REQUEST(&back, back.req_cons, &x);
            back.req_cons++;
            putchar(',');
            print_extra(&x);
        } else if (strcmp(op, "copy_xrsp") == 0) {
            struct netif_extra_info x;
            RING_COPY_RESPONSE(&front, front.rsp_cons, &x);
            front.rsp_cons++;
            putchar(',');
            print_extra(&x);
        } else if (strcmp(op, "counts") == 0) {
            printf(",\"free\":%u,\"unc_req\":%u,\"unc_rsp\":%u,\"req_prod_overflow\":%d,\"rsp_prod_overflow\":%d,"
                   "\"cons_overflow\":%d",
                   (unsigned)RING_FREE_REQUESTS(&front), (unsigned)XEN_RING_NR_UNCONSUMED_REQUESTS(&back),
                   (unsigned)XEN_RING_NR_UNCONSUMED_RESPONSES(&front),
                   RING_REQUEST_PROD_OVERFLOW(&back, sring->req_prod) ? 1 : 0,
                   RING_RESPONSE_PROD_OVERFLOW(&front, sring->rsp_prod) ? 1 : 0,
                   RING_REQUEST_CONS_OVERFLOW(&back, back.req_cons) ? 1 : 0);
        } else if (strcmp(op, "load") == 0 || strcmp(op, "save") == 0) {
            int load = op[0] == 'l';
            FILE *f = fopen(arg, load ? "rb" : "wb");
            if (f == NULL || (load ? fread(page.bytes, 1, PAGE, f) : fwrite(page.bytes, 1, PAGE, f)) != PAGE) {
                fprintf(stderr, "ring_ops: cannot %s %s\n", op, arg);
                exit(2);
            }
            fclose(f);
        } else {
            fail(line);
        }
        printf(",\"pvt\":[%u,%u,%u,%u],\"s\":[%u,%u,%u,%u],\"h\":%u}\n",
               front.req_prod_pvt, front.rsp_cons, back.rsp_prod_pvt, back.req_cons,
               sring->req_prod, sring->req_event, sring->rsp_prod, sring->rsp_event, page_hash());
    }
    return 0;
}

/* Result writers: text for people, CSV and JSON lines for programs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

void csv_field(const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

void write_header(const infer_opts *o, const emoti_info *in, int with_frame) {
    if (o->format != FMT_CSV) return;
    printf(with_frame ? "frame,file,label" : "file,label");
    for (int i = 0; i < in->n_logits; i++) {
        putchar(',');
        csv_field(in->labels[i]);
    }
    if (in->valence_index >= 0) printf(",valence,arousal");
    if (o->embeddings)
        for (int i = 0; i < in->features; i++) printf(",emb%d", i);
    if (o->time) printf(",time");
    putchar('\n');
}

static void write_text(const infer_opts *o, const emoti_info *in, row_key key, const emoti_result *r) {
    if (key.frame >= 0) printf("frame %d ", key.frame);
    if (o->time) printf("(%.3f s) ", key.time);
    printf("%s: %s %.4f\n", key.file, in->labels[r->top], r->probs[r->top]);
    for (int i = 0; i < in->n_logits; i++) printf("  %-10s %.4f\n", in->labels[i], r->probs[i]);
    if (r->has_va) printf("  valence    %.4f\n  arousal    %.4f\n", r->valence, r->arousal);
}

static void write_csv(const infer_opts *o, const emoti_info *in, row_key key, const emoti_result *r,
                      const float *emb) {
    if (key.frame >= 0) printf("%d,", key.frame);
    csv_field(key.file);
    putchar(',');
    csv_field(in->labels[r->top]);
    for (int i = 0; i < in->n_logits; i++) printf(",%.9g", r->probs[i]);
    if (r->has_va) printf(",%.9g,%.9g", r->valence, r->arousal);
    if (emb)
        for (int i = 0; i < in->features; i++) printf(",%.9g", emb[i]);
    if (o->time) printf(",%.3f", key.time);
    putchar('\n');
}

static void write_json(const infer_opts *o, const emoti_info *in, row_key key, const emoti_result *r,
                       const float *emb) {
    putchar('{');
    if (key.frame >= 0) printf("\"frame\":%d,", key.frame);
    printf("\"file\":");
    json_string(key.file);
    printf(",\"label\":");
    json_string(in->labels[r->top]);
    printf(",\"probs\":{");
    for (int i = 0; i < in->n_logits; i++) {
        if (i) putchar(',');
        json_string(in->labels[i]);
        printf(":%.9g", r->probs[i]);
    }
    putchar('}');
    if (r->has_va) printf(",\"valence\":%.9g,\"arousal\":%.9g", r->valence, r->arousal);
    if (emb) {
        printf(",\"embedding\":[");
        for (int i = 0; i < in->features; i++) printf(i ? ",%.9g" : "%.9g", emb[i]);
        putchar(']');
    }
    if (o->time) printf(",\"time\":%.3f", key.time);
    printf("}\n");
}

/* Each row is flushed whole, so a later failure never leaves half a row behind. */
void write_row(const infer_opts *o, const emoti_info *in, row_key key, const emoti_result *r,
               const float *emb) {
    if (o->format == FMT_TEXT) write_text(o, in, key, r);
    else if (o->format == FMT_CSV) write_csv(o, in, key, r, emb);
    else write_json(o, in, key, r, emb);
    fflush(stdout);
}

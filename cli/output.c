/* Result writers: text for people, CSV and JSON lines for programs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void header(const infer_opts *o, const emoti_info *in, const char *key) {
    if (o->format != EMOTI_FORMAT_CSV) return;
    printf("%s,label", key);
    for (int i = 0; i < in->n_logits; i++) {
        putchar(',');
        emoti_csv_field(stdout, in->labels[i]);
    }
    if (in->valence_index >= 0) printf(",valence,arousal");
    if (o->embeddings)
        for (int i = 0; i < in->features; i++) printf(",emb%d", i);
    if (o->time) printf(",time");
    putchar('\n');
}

void write_header(const infer_opts *o, const emoti_info *in, int with_frame) {
    header(o, in, with_frame ? "frame,file" : "file");
}

void write_face_result_header(const infer_opts *o, const emoti_info *in) {
    header(o, in, "file,face,x1,y1,x2,y2,score");
}

static void write_text(const infer_opts *o, const emoti_info *in, emoti_row_key key, const emoti_result *r,
                       const emoti_face_result *fr) {
    if (key.frame >= 0) printf("frame %ld ", key.frame);
    if (o->time) printf("(%.3f s) ", key.time);
    emoti_text_field(stdout, key.file);
    if (fr)
        printf(" face %d (%.1f,%.1f)-(%.1f,%.1f) %.4f", fr->index, fr->face.x1, fr->face.y1, fr->face.x2,
               fr->face.y2, fr->face.score);
    printf(": %s %.4f\n", in->labels[r->top], r->probs[r->top]);
    for (int i = 0; i < in->n_logits; i++) printf("  %-10s %.4f\n", in->labels[i], r->probs[i]);
    if (r->has_va) printf("  valence    %.4f\n  arousal    %.4f\n", r->valence, r->arousal);
}

static void write_csv(const infer_opts *o, const emoti_info *in, emoti_row_key key, const emoti_result *r,
                      const float *emb, const emoti_face_result *fr) {
    if (key.frame >= 0) printf("%ld,", key.frame);
    emoti_csv_field(stdout, key.file);
    if (fr)
        printf(",%d,%.9g,%.9g,%.9g,%.9g,%.9g", fr->index, fr->face.x1, fr->face.y1, fr->face.x2, fr->face.y2,
               fr->face.score);
    putchar(',');
    emoti_csv_field(stdout, in->labels[r->top]);
    for (int i = 0; i < in->n_logits; i++) printf(",%.9g", r->probs[i]);
    if (r->has_va) printf(",%.9g,%.9g", r->valence, r->arousal);
    if (emb)
        for (int i = 0; i < in->features; i++) printf(",%.9g", emb[i]);
    if (o->time) printf(",%.3f", key.time);
    putchar('\n');
}

static void write_json(const infer_opts *o, const emoti_info *in, emoti_row_key key, const emoti_result *r,
                       const float *emb, const emoti_face_result *fr) {
    putchar('{');
    if (key.frame >= 0) printf("\"frame\":%ld,", key.frame);
    printf("\"file\":");
    emoti_json_string(stdout, key.file);
    if (fr)
        printf(",\"face\":%d,\"box\":[%.9g,%.9g,%.9g,%.9g],\"score\":%.9g", fr->index, fr->face.x1,
               fr->face.y1, fr->face.x2, fr->face.y2, fr->face.score);
    printf(",\"label\":");
    emoti_json_string(stdout, in->labels[r->top]);
    printf(",\"probs\":{");
    for (int i = 0; i < in->n_logits; i++) {
        if (i) putchar(',');
        emoti_json_string(stdout, in->labels[i]);
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
static void row(const infer_opts *o, const emoti_info *in, emoti_row_key key, const emoti_result *r,
                const float *emb, const emoti_face_result *fr) {
    if (o->format == EMOTI_FORMAT_TEXT) write_text(o, in, key, r, fr);
    else if (o->format == EMOTI_FORMAT_CSV) write_csv(o, in, key, r, emb, fr);
    else write_json(o, in, key, r, emb, fr);
    fflush(stdout);
}

void write_row(const infer_opts *o, const emoti_info *in, emoti_row_key key, const emoti_result *r,
               const float *emb) {
    row(o, in, key, r, emb, NULL);
}

void write_face_result(const infer_opts *o, const emoti_info *in, const char *file,
                       const emoti_face_result *fr) {
    row(o, in, (emoti_row_key){-1, file, -1}, &fr->result, o->embeddings ? fr->embedding : NULL, fr);
}

void write_noface_row(const infer_opts *o, const emoti_info *in, const char *file) {
    if (o->format == EMOTI_FORMAT_TEXT) {
        emoti_text_field(stdout, file);
        printf(": no face\n");
    } else if (o->format == EMOTI_FORMAT_CSV) {
        emoti_csv_field(stdout, file);
        int empty = 6 + in->n_logits + (in->valence_index >= 0 ? 2 : 0) + (o->embeddings ? in->features : 0);
        printf(",0"); /* then empty: box, score, label, probabilities, VA, embedding */
        for (int i = 0; i < empty; i++) putchar(',');
        putchar('\n');
    } else {
        printf("{\"file\":");
        emoti_json_string(stdout, file);
        printf(",\"face\":0}\n");
    }
    fflush(stdout);
}

void write_face_header(void) {
    printf("file,face,x1,y1,x2,y2,score");
    for (int i = 1; i <= 5; i++) printf(",lx%d,ly%d", i, i);
    putchar('\n');
}

void write_face_row(int fmt, const char *file, int index, const emoti_face *f) {
    int csv = fmt == EMOTI_FORMAT_CSV;
    if (!csv) printf("{\"file\":");
    (csv ? emoti_csv_field : emoti_json_string)(stdout, file);
    printf(csv ? ",%d" : ",\"face\":%d", index);
    if (!f) fputs(csv ? ",,,,,,,,,,,,,,,\n" : "}\n", stdout); /* 15 empty fields: box, score, landmarks */
    else if (csv) {
        printf(",%.9g,%.9g,%.9g,%.9g,%.9g", f->x1, f->y1, f->x2, f->y2, f->score);
        for (int i = 0; i < 5; i++) printf(",%.9g,%.9g", f->landmarks[i][0], f->landmarks[i][1]);
        putchar('\n');
    } else {
        printf(",\"box\":[%.9g,%.9g,%.9g,%.9g],\"score\":%.9g,\"landmarks\":[", f->x1, f->y1, f->x2,
               f->y2, f->score);
        for (int i = 0; i < 5; i++)
            printf(i ? ",[%.9g,%.9g]" : "[%.9g,%.9g]", f->landmarks[i][0], f->landmarks[i][1]);
        printf("]}\n");
    }
    fflush(stdout);
}

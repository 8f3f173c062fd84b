/* Rows of a timeline as CSV or JSON lines (emoti.h): the columns `emoti video --heads` prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"

void emoti_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"') putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

/* s with control characters as \u00XX, so that a file name cannot move a terminal's cursor
 * or forge a row; in JSON '"' and '\\' escaped too. */
static void put_escaped(FILE *f, const char *s, int json) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (json && (ch == '"' || ch == '\\')) fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\u%04x", ch);
        else putc(ch, f);
    }
}

void emoti_text_field(FILE *f, const char *s) { put_escaped(f, s, 0); }

void emoti_json_string(FILE *f, const char *s) {
    putc('"', f);
    put_escaped(f, s, 1);
    putc('"', f);
}

/* ",prefix<label>" as one CSV field. */
static void csv_name(FILE *f, const char *prefix, const char *label) {
    size_t n = strlen(prefix) + strlen(label) + 1;
    char *s = malloc(n);
    if (!s) return;
    snprintf(s, n, "%s%s", prefix, label);
    putc(',', f);
    emoti_csv_field(f, s);
    free(s);
}

/* The columns from filled on: the header's, a row's (CSV), a row's (JSON). */
static void csv_value_names(FILE *f, const emoti_timeline *t, int flags) {
    int au_values = flags & EMOTI_ROWS_AU_VALUES;
    emoti_timeline_task va, ex, au;
    emoti_timeline_task_info(t, EMOTI_TASK_VA, &va);
    emoti_timeline_task_info(t, EMOTI_TASK_EXPR, &ex);
    emoti_timeline_task_info(t, EMOTI_TASK_AU, &au);
    fputs(",filled", f);
    if (va.on) fputs(",valence,arousal", f);
    if (ex.on) fputs(",expression", f);
    for (int q = 0; q < ex.dim; q++) csv_name(f, "p_", ex.labels[q]);
    for (int q = 0; q < au.dim; q++) csv_name(f, au_values ? "p_" : "", au.labels[q]);
}

void emoti_timeline_write_header(FILE *f, const emoti_timeline *t, int format, int flags) {
    if (format != EMOTI_FORMAT_CSV) return;
    fputs("frame,file", f);
    csv_value_names(f, t, flags);
    if (flags & EMOTI_ROWS_TIME) fputs(",time", f);
    putc('\n', f);
}

static void csv_values(FILE *f, const emoti_timeline_row *r, int flags) {
    int au_values = flags & EMOTI_ROWS_AU_VALUES;
    fprintf(f, ",%d", r->filled);
    if (r->has_va) fprintf(f, ",%.6f,%.6f", r->valence, r->arousal);
    if (r->n_classes) {
        putc(',', f);
        emoti_csv_field(f, r->class_labels[r->expression]);
        for (int q = 0; q < r->n_classes; q++) fprintf(f, ",%.6f", r->probs[q]);
    }
    for (int q = 0; q < r->n_aus; q++) {
        if (au_values) fprintf(f, ",%.6f", r->au_probs[q]);
        else fprintf(f, ",%d", r->au_active[q]);
    }
}

static void json_values(FILE *f, const emoti_timeline_row *r, int flags) {
    int au_values = flags & EMOTI_ROWS_AU_VALUES;
    fprintf(f, ",\"filled\":%s", r->filled ? "true" : "false");
    if (r->has_va) fprintf(f, ",\"valence\":%.6f,\"arousal\":%.6f", r->valence, r->arousal);
    if (r->n_classes) {
        fputs(",\"expression\":", f);
        emoti_json_string(f, r->class_labels[r->expression]);
        fputs(",\"probs\":{", f);
        for (int q = 0; q < r->n_classes; q++) {
            if (q) putc(',', f);
            emoti_json_string(f, r->class_labels[q]);
            fprintf(f, ":%.6f", r->probs[q]);
        }
        putc('}', f);
    }
    if (r->n_aus) {
        fputs(",\"au\":{", f);
        for (int q = 0; q < r->n_aus; q++) {
            if (q) putc(',', f);
            emoti_json_string(f, r->au_labels[q]);
            if (au_values) fprintf(f, ":%.6f", r->au_probs[q]);
            else fprintf(f, ":%d", r->au_active[q]);
        }
        putc('}', f);
    }
}

static void csv_row(FILE *f, const emoti_timeline_row *r, emoti_row_key key, int flags) {
    fprintf(f, "%ld,", key.frame);
    emoti_csv_field(f, key.file);
    csv_values(f, r, flags);
    if (flags & EMOTI_ROWS_TIME) fprintf(f, ",%.3f", key.time);
    putc('\n', f);
}

static void json_row(FILE *f, const emoti_timeline_row *r, emoti_row_key key, int flags) {
    fprintf(f, "{\"frame\":%ld,\"file\":", key.frame);
    emoti_json_string(f, key.file);
    json_values(f, r, flags);
    if (flags & EMOTI_ROWS_TIME) fprintf(f, ",\"time\":%.3f", key.time);
    fputs("}\n", f);
}

void emoti_timeline_write_row(FILE *f, const emoti_timeline_row *r, emoti_row_key key, int format,
                              int flags) {
    if (format == EMOTI_FORMAT_JSONL) json_row(f, r, key, flags);
    else csv_row(f, r, key, flags);
}

void emoti_face_rows_header(FILE *f, const emoti_timeline *t, int format, int flags) {
    if (format != EMOTI_FORMAT_CSV) return;
    fputs("frame,time,track,x1,y1,x2,y2,score", f);
    csv_value_names(f, t, flags);
    putc('\n', f);
}

/* The box as %.9g: it reads back as the same float, so a reader crops what emoti cropped. */
void emoti_face_row_write(FILE *f, const emoti_face_row *r, double time, int format, int flags) {
    int json = format == EMOTI_FORMAT_JSONL;
    fprintf(f, json ? "{\"frame\":%ld,\"time\":" : "%ld,", r->frame);
    if (time >= 0) fprintf(f, "%.3f", time);
    else if (json) fputs("null", f);
    fprintf(f, json ? ",\"track\":%lld,\"box\":[%.9g,%.9g,%.9g,%.9g],\"score\":%.9g" : ",%lld,%.9g,%.9g,%.9g,%.9g,%.9g",
            (long long)r->track, r->x1, r->y1, r->x2, r->y2, r->score);
    (json ? json_values : csv_values)(f, &r->row, flags);
    fputs(json ? "}\n" : "\n", f);
}

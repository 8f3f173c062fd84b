/* Head training: forward, the three losses, backpropagation through the dense stack, Adam. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emoti.h"
#include "heads.h"
#include "error.h"

uint64_t emoti_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rng_uniform(uint64_t *s) { return (double)(emoti_rng_next(s) >> 11) * 0x1.0p-53; }

/* ---- losses ---- */

double emoti_loss_ce(const double *z, const int *y, size_t n, int k, const double *w, double *dz) {
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const double *zi = z + i * (size_t)k;
        double m = zi[0];
        for (int c = 1; c < k; c++) m = zi[c] > m ? zi[c] : m;
        double s = 0;
        for (int c = 0; c < k; c++) s += exp(zi[c] - m);
        double lse = m + log(s), wi = w[y[i]];
        total += wi * (lse - zi[y[i]]);
        if (dz)
            for (int c = 0; c < k; c++)
                dz[i * (size_t)k + c] = wi * (exp(zi[c] - lse) - (c == y[i])) / (double)n;
    }
    return n ? total / (double)n : 0;
}

double emoti_loss_bce(const double *z, const double *y, size_t n, int k, const double *w0,
                      const double *w1, double *dz) {
    double total = 0, scale = (double)n * k;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            size_t at = i * (size_t)k + (size_t)j;
            double zz = z[at], yy = y[at];
            double w = pow(w0[j], 1 - yy) * pow(w1[j], yy);
            double softplus = (zz > 0 ? zz : 0) + log1p(exp(-fabs(zz)));
            total += w * (softplus - yy * zz);
            if (dz) {
                double sig = zz >= 0 ? 1 / (1 + exp(-zz)) : exp(zz) / (1 + exp(zz));
                dz[at] = w * (sig - yy) / scale;
            }
        }
    return n ? total / scale : 0;
}

double emoti_loss_ccc(const double *z, const double *y, size_t n, int k, double eps, int tanh_out,
                      double *dz) {
    if (n == 0) return 0;
    double loss = 1, dn = (double)n;
    for (int j = 0; j < k; j++) {
        double mx = 0, my = 0;
        for (size_t i = 0; i < n; i++) {
            double x = z[i * (size_t)k + j];
            mx += tanh_out ? tanh(x) : x;
            my += y[i * (size_t)k + j];
        }
        mx /= dn, my /= dn;
        double vx = 0, vy = 0, cov = 0;
        for (size_t i = 0; i < n; i++) {
            double x = z[i * (size_t)k + j];
            double dx = (tanh_out ? tanh(x) : x) - mx, dy = y[i * (size_t)k + j] - my;
            vx += dx * dx, vy += dy * dy, cov += dx * dy;
        }
        vx /= dn, vy /= dn, cov /= dn;
        double den = vx + vy + (mx - my) * (mx - my) + eps, ccc = 2 * cov / den;
        loss -= ccc / k;
        if (!dz) continue;
        for (size_t i = 0; i < n; i++) {
            double zz = z[i * (size_t)k + j], x = tanh_out ? tanh(zz) : zz;
            double dccc = 2 / den * (y[i * (size_t)k + j] - my) / dn -
                          2 * cov / (den * den) * (2 * (x - mx) / dn + 2 * (mx - my) / dn);
            dz[i * (size_t)k + j] = -dccc / k * (tanh_out ? 1 - x * x : 1);
        }
    }
    return loss;
}

/* ---- setup ---- */

void emoti_train_defaults(emoti_train_opts *o, int task) {
    memset(o, 0, sizeof *o);
    o->lr = 1e-3, o->beta1 = 0.9, o->beta2 = 0.999, o->adam_eps = 1e-7, o->ccc_eps = 1e-7;
    o->seed = 1;
    o->batch = task == EMOTI_TASK_VA ? 1024 : task == EMOTI_TASK_EXPR ? 256 : 512;
    o->epochs = task == EMOTI_TASK_VA ? 20 : task == EMOTI_TASK_EXPR ? 10 : 5;
    o->l2 = task == EMOTI_TASK_VA ? 1.0 / 1024 : 0;
}

void emoti_head_init(emoti_head *h, uint64_t seed) {
    uint64_t s = seed;
    for (int l = 0; l < h->n_layers; l++) {
        int in = h->sizes[l], out = h->sizes[l + 1];
        double limit = sqrt(6.0 / (in + out));
        for (size_t i = 0; i < (size_t)in * (size_t)out; i++)
            h->w[l][i] = (float)((2 * rng_uniform(&s) - 1) * limit);
        memset(h->b[l], 0, (size_t)out * sizeof(float));
    }
}

static emoti_status check_trainable(const emoti_head *h) {
    int last = h->act[h->n_layers - 1];
    for (int l = 0; l + 1 < h->n_layers; l++)
        if (h->act[l] == EMOTI_ACT_SOFTMAX)
            return emoti_fail(EMOTI_ERR_UNSUPPORTED, "softmax is only supported on the last layer");
    if (h->task == EMOTI_TASK_EXPR && last != EMOTI_ACT_SOFTMAX)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "an expr head must end in softmax to be trained");
    if (h->task == EMOTI_TASK_AU && last != EMOTI_ACT_SIGMOID)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "an au head must end in sigmoid to be trained");
    if (h->task == EMOTI_TASK_VA && last != EMOTI_ACT_TANH && last != EMOTI_ACT_NONE)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "a va head must end in tanh or none to be trained");
    if (h->task == EMOTI_TASK_EXPR && emoti_head_outputs(h) > 64)
        return emoti_fail(EMOTI_ERR_UNSUPPORTED, "at most 64 expression classes");
    return EMOTI_OK;
}

emoti_status emoti_loss_spec_init(emoti_loss_spec *s, const emoti_head *h, const emoti_train_set *t,
                                  double l2, double ccc_eps) {
    memset(s, 0, sizeof *s);
    emoti_status st = check_trainable(h);
    if (st) return st;
    int k = emoti_head_outputs(h);
    s->task = h->task, s->n_classes = k, s->l2 = l2, s->ccc_eps = ccc_eps;
    if (h->task == EMOTI_TASK_EXPR) {
        size_t count[64] = {0}, most = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (t->cls[i] < 0 || t->cls[i] >= k)
                return emoti_fail(EMOTI_ERR_ARG, "class %d out of range for %d outputs", t->cls[i], k);
            count[t->cls[i]]++;
        }
        for (int c = 0; c < k; c++) most = count[c] > most ? count[c] : most;
        for (int c = 0; c < k; c++) s->class_w[c] = count[c] ? (double)most / (double)count[c] : 0;
    } else if (h->task == EMOTI_TASK_AU) {
        s->w0 = malloc((size_t)k * sizeof *s->w0);
        s->w1 = malloc((size_t)k * sizeof *s->w1);
        if (!s->w0 || !s->w1) {
            emoti_loss_spec_free(s);
            return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
        }
        for (int j = 0; j < k; j++) {
            size_t pos = 0;
            for (size_t i = 0; i < t->n; i++) pos += t->y[i * (size_t)k + (size_t)j] > 0.5f;
            size_t neg = t->n - pos;
            s->w0[j] = neg ? (double)t->n / (2.0 * (double)neg) : 0;
            s->w1[j] = pos ? (double)t->n / (2.0 * (double)pos) : 0;
        }
    }
    return EMOTI_OK;
}

void emoti_loss_spec_free(emoti_loss_spec *s) {
    free(s->w0), free(s->w1);
    s->w0 = s->w1 = NULL;
}

/* ---- forward / backward on one batch ---- */

typedef struct {
    float *a[EMOTI_HEAD_MAX_LAYERS + 1]; /* a[0] input batch, a[l] activations, a[L] last z */
    float *da[2];
    double *z, *dz;
    int *cls;
    size_t cap;
} workspace;

static void ws_free(workspace *w) {
    for (int l = 0; l <= EMOTI_HEAD_MAX_LAYERS; l++) free(w->a[l]);
    free(w->da[0]), free(w->da[1]), free(w->z), free(w->dz), free(w->cls);
    memset(w, 0, sizeof *w);
}

static int ws_init(workspace *w, const emoti_head *h, size_t cap) {
    memset(w, 0, sizeof *w);
    w->cap = cap;
    int widest = 0;
    for (int l = 0; l <= h->n_layers; l++) {
        widest = h->sizes[l] > widest ? h->sizes[l] : widest;
        if (!(w->a[l] = malloc(cap * (size_t)h->sizes[l] * sizeof(float)))) return 0;
    }
    size_t k = (size_t)emoti_head_outputs(h);
    w->da[0] = malloc(cap * (size_t)widest * sizeof(float));
    w->da[1] = malloc(cap * (size_t)widest * sizeof(float));
    w->z = malloc(cap * k * sizeof(double));
    w->dz = malloc(cap * k * sizeof(double));
    w->cls = malloc(cap * sizeof(int));
    return w->da[0] && w->da[1] && w->z && w->dz && w->cls;
}

/* Loss and gradients for the rows idx[0..n) of t; grads zeroed here. */
static double batch_grad(const emoti_head *h, const emoti_loss_spec *spec, const emoti_train_set *t,
                         const size_t *idx, size_t n, workspace *ws, float **grads, double *yb) {
    int L = h->n_layers, k = emoti_head_outputs(h);
    size_t dim = (size_t)h->sizes[0];
    for (size_t r = 0; r < n; r++)
        memcpy(ws->a[0] + r * dim, t->x + (size_t)t->rows[idx[r]] * dim, dim * sizeof(float));
    for (int l = 0; l < L; l++)
        emoti_dense(ws->a[l], n, h->sizes[l], h->w[l], h->b[l], h->sizes[l + 1],
                    l == L - 1 ? EMOTI_ACT_NONE : h->act[l], ws->a[l + 1]);
    for (size_t i = 0; i < n * (size_t)k; i++) ws->z[i] = ws->a[L][i];
    double loss;
    if (spec->task == EMOTI_TASK_EXPR) {
        for (size_t r = 0; r < n; r++) ws->cls[r] = t->cls[idx[r]];
        loss = emoti_loss_ce(ws->z, ws->cls, n, k, spec->class_w, ws->dz);
    } else {
        for (size_t r = 0; r < n; r++)
            for (int j = 0; j < k; j++) yb[r * (size_t)k + j] = t->y[idx[r] * (size_t)k + (size_t)j];
        loss = spec->task == EMOTI_TASK_AU
                   ? emoti_loss_bce(ws->z, yb, n, k, spec->w0, spec->w1, ws->dz)
                   : emoti_loss_ccc(ws->z, yb, n, k, spec->ccc_eps, h->act[L - 1] == EMOTI_ACT_TANH,
                                    ws->dz);
    }
    /* Backward: g holds dL/d(pre-activation) of layer l, [n][sizes[l+1]]. */
    float *g = ws->da[0];
    for (size_t i = 0; i < n * (size_t)k; i++) g[i] = (float)ws->dz[i];
    for (int l = L - 1; l >= 0; l--) {
        size_t in = (size_t)h->sizes[l], out = (size_t)h->sizes[l + 1];
        float *gw = grads[2 * l], *gb = grads[2 * l + 1];
        memset(gw, 0, in * out * sizeof *gw);
        memset(gb, 0, out * sizeof *gb);
        for (size_t r = 0; r < n; r++) {
            const float *ar = ws->a[l] + r * in, *gr = g + r * out;
            for (size_t j = 0; j < out; j++) gb[j] += gr[j];
            for (size_t i = 0; i < in; i++) {
                if (ar[i] != 0) emoti_axpy(gw + i * out, gr, ar[i], out);
            }
        }
        if (spec->l2 > 0) {
            double sq = 0;
            for (size_t i = 0; i < in * out; i++) {
                sq += (double)h->w[l][i] * h->w[l][i];
                gw[i] += (float)(2 * spec->l2 * h->w[l][i]);
            }
            loss += spec->l2 * sq;
        }
        if (l == 0) break;
        float *ng = g == ws->da[0] ? ws->da[1] : ws->da[0];
        const float *act = ws->a[l]; /* post-activation output of layer l-1 */
        for (size_t r = 0; r < n; r++) {
            const float *gr = g + r * out;
            for (size_t i = 0; i < in; i++) {
                float s = emoti_dot(h->w[l] + i * out, gr, out);
                float a = act[r * in + i];
                switch (h->act[l - 1]) {
                case EMOTI_ACT_RELU: s = a > 0 ? s : 0; break;
                case EMOTI_ACT_TANH: s *= 1 - a * a; break;
                case EMOTI_ACT_SIGMOID: s *= a * (1 - a); break;
                default: break;
                }
                ng[r * in + i] = s;
            }
        }
        g = ng;
    }
    return loss;
}

emoti_status emoti_head_loss_grad(const emoti_head *h, const emoti_loss_spec *spec,
                                  const emoti_train_set *t, const size_t *idx, size_t n,
                                  double *loss, float **grads) {
    workspace ws;
    double *yb = malloc((n ? n : 1) * (size_t)emoti_head_outputs(h) * sizeof *yb);
    if (!yb || !ws_init(&ws, h, n ? n : 1)) {
        free(yb);
        ws_free(&ws);
        return emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
    }
    *loss = batch_grad(h, spec, t, idx, n, &ws, grads, yb);
    free(yb);
    ws_free(&ws);
    return EMOTI_OK;
}

/* ---- metric ---- */

double emoti_head_metric(const emoti_head *h, const emoti_train_set *s) {
    int k = emoti_head_outputs(h);
    size_t dim = (size_t)h->sizes[0], chunk = 1024;
    float *xb = malloc(chunk * dim * sizeof *xb), *ob = malloc(s->n * (size_t)k * sizeof *ob);
    double result = NAN;
    if (!xb || !ob) goto done;
    for (size_t r = 0; r < s->n; r += chunk) {
        size_t m = s->n - r < chunk ? s->n - r : chunk;
        for (size_t i = 0; i < m; i++)
            memcpy(xb + i * dim, s->x + (size_t)s->rows[r + i] * dim, dim * sizeof *xb);
        emoti_head_forward(h, xb, m, ob + r * (size_t)k);
    }
    if (h->task == EMOTI_TASK_EXPR) {
        int *pred = malloc(s->n * sizeof *pred);
        if (!pred) goto done;
        for (size_t i = 0; i < s->n; i++) {
            int best = 0;
            for (int c = 1; c < k; c++) best = ob[i * (size_t)k + c] > ob[i * (size_t)k + best] ? c : best;
            pred[i] = best;
        }
        result = emoti_f1_macro(s->cls, pred, s->n, k, NULL);
        free(pred);
    } else if (h->task == EMOTI_TASK_AU) {
        int *pred = malloc(s->n * (size_t)k * sizeof *pred), *truth = malloc(s->n * (size_t)k * sizeof *truth);
        if (pred && truth) {
            for (size_t i = 0; i < s->n * (size_t)k; i++) {
                pred[i] = ob[i] >= h->thresholds[i % (size_t)k];
                truth[i] = s->y[i] > 0.5f;
            }
            result = emoti_f1_au_mean(truth, pred, s->n, k, NULL);
        }
        free(pred), free(truth);
    } else {
        double *x = malloc(s->n * sizeof *x), *y = malloc(s->n * sizeof *y);
        if (x && y) {
            result = 0;
            for (int j = 0; j < k; j++) {
                for (size_t i = 0; i < s->n; i++) x[i] = ob[i * (size_t)k + j], y[i] = s->y[i * (size_t)k + j];
                result += emoti_ccc(x, y, s->n) / k;
            }
        }
        free(x), free(y);
    }
done:
    free(xb), free(ob);
    return result;
}

/* ---- the training loop ---- */

emoti_status emoti_train(emoti_head *h, const emoti_train_set *train, const emoti_train_set *val,
                         const emoti_train_opts *o, emoti_train_report *report) {
    memset(report, 0, sizeof *report);
    report->best_metric = NAN;
    if (train->n == 0) return emoti_fail(EMOTI_ERR_ARG, "no labelled training frames");
    if (train->dim != h->sizes[0])
        return emoti_fail(EMOTI_ERR_ARG, "features have %d columns, the head takes %d", train->dim,
                          h->sizes[0]);
    if (o->batch < 1 || o->epochs < 1) return emoti_fail(EMOTI_ERR_ARG, "batch and epochs must be >= 1");
    emoti_loss_spec spec;
    emoti_status st = emoti_loss_spec_init(&spec, h, train, o->l2, o->ccc_eps);
    if (st) return st;
    int L = h->n_layers, k = emoti_head_outputs(h);
    size_t batch = (size_t)o->batch < train->n ? (size_t)o->batch : train->n;
    size_t n_par = 2 * (size_t)L;
    float *grads[2 * EMOTI_HEAD_MAX_LAYERS] = {0}, *m[2 * EMOTI_HEAD_MAX_LAYERS] = {0},
          *v[2 * EMOTI_HEAD_MAX_LAYERS] = {0}, *best[2 * EMOTI_HEAD_MAX_LAYERS] = {0};
    size_t len[2 * EMOTI_HEAD_MAX_LAYERS];
    workspace ws;
    int ok = ws_init(&ws, h, batch);
    size_t *perm = malloc(train->n * sizeof *perm);
    double *yb = malloc(batch * (size_t)k * sizeof *yb);
    ok = ok && perm && yb;
    for (size_t p = 0; ok && p < n_par; p++) {
        int l = (int)p / 2;
        len[p] = p % 2 ? (size_t)h->sizes[l + 1] : (size_t)h->sizes[l] * (size_t)h->sizes[l + 1];
        ok = (grads[p] = malloc(len[p] * sizeof(float))) && (m[p] = calloc(len[p], sizeof(float))) &&
             (v[p] = calloc(len[p], sizeof(float))) && (best[p] = malloc(len[p] * sizeof(float)));
    }
    if (!ok) {
        st = emoti_fail(EMOTI_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t rng = o->seed ^ 0x5DEECE66Dull;
    for (size_t i = 0; i < train->n; i++) perm[i] = i;
    long step = 0;
    double best_metric = -INFINITY;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        for (size_t i = train->n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = (size_t)(emoti_rng_next(&rng) % (i + 1)), tmp = perm[i];
            perm[i] = perm[j], perm[j] = tmp;
        }
        double sum = 0;
        size_t batches = 0;
        for (size_t at = 0; at < train->n; at += batch) {
            size_t nb = train->n - at < batch ? train->n - at : batch;
            double loss = batch_grad(h, &spec, train, perm + at, nb, &ws, grads, yb);
            if (!isfinite(loss)) {
                st = emoti_fail(EMOTI_ERR_ARG, "the loss became %g at epoch %d", loss, epoch);
                goto done;
            }
            sum += loss, batches++;
            step++;
            double lr_t = o->lr * sqrt(1 - pow(o->beta2, (double)step)) / (1 - pow(o->beta1, (double)step));
            for (size_t p = 0; p < n_par; p++) {
                float *param = p % 2 ? h->b[p / 2] : h->w[p / 2];
                for (size_t i = 0; i < len[p]; i++) {
                    float gr = grads[p][i];
                    m[p][i] = (float)(o->beta1 * m[p][i] + (1 - o->beta1) * gr);
                    v[p][i] = (float)(o->beta2 * v[p][i] + (1 - o->beta2) * (double)gr * gr);
                    param[i] -= (float)(lr_t * m[p][i] / (sqrt(v[p][i]) + o->adam_eps));
                }
            }
        }
        double metric = val && val->n ? emoti_head_metric(h, val) : NAN;
        report->final_loss = sum / (double)batches;
        if (epoch <= 256) report->loss[epoch - 1] = report->final_loss, report->metric[epoch - 1] = metric;
        if (o->log) {
            fprintf(o->log, "emoti: epoch %d/%d  loss %.6f", epoch, o->epochs, report->final_loss);
            if (val && val->n) fprintf(o->log, "  val %s %.4f", h->task == EMOTI_TASK_VA ? "ccc" : "f1", metric);
            fprintf(o->log, "\n");
        }
        if (!(val && val->n) || metric > best_metric) {
            best_metric = metric;
            report->best_epoch = epoch, report->best_metric = metric;
            for (size_t p = 0; p < n_par; p++)
                memcpy(best[p], p % 2 ? h->b[p / 2] : h->w[p / 2], len[p] * sizeof(float));
        }
    }
    for (size_t p = 0; p < n_par; p++)
        memcpy(p % 2 ? h->b[p / 2] : h->w[p / 2], best[p], len[p] * sizeof(float));
done:
    for (size_t p = 0; p < n_par; p++) free(grads[p]), free(m[p]), free(v[p]), free(best[p]);
    free(perm), free(yb);
    ws_free(&ws);
    emoti_loss_spec_free(&spec);
    return st;
}

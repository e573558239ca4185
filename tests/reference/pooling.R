# Reference values for sa.pool_proportions (issue: pooling the literature) from metafor.
# Run once:  Rscript tests/reference/pooling.R   (writes tests/reference/pooling.json)
# Data: metadat's single-arm data sets and a case-report-heavy synthetic literature
# (tests/reference/data/literature_props.csv, written by make_pooling_data.py).
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
lit <- read.csv(file.path(here, "data", "literature_props.csv"))

arm <- function(x) data.frame(study = as.character(seq_len(nrow(x))), xi = x$xi, ni = x$ni)
sets <- list(
  pritz1997 = arm(dat.pritz1997),
  debruin2009 = arm(dat.debruin2009),
  pagliaro1992 = arm(subset(dat.pagliaro1992, trt == "sclerotherapy")),  # one arm: single-arm data
  hannum2020 = arm(dat.hannum2020[!is.na(dat.hannum2020$xi), ]),
  literature = data.frame(study = lit$study, xi = lit$events, ni = lit$n)
)
# metafor's PFT back-transformation needs the harmonic mean of n
num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))

# tau2 iterations (REML Fisher scoring, PM root finding) converged far past metafor's defaults
# (threshold 1e-5, uniroot tol 1.2e-4), so that the reference is the estimator, not its stopping rule
TIGHT <- list(threshold = 1e-13, tol = 1e-13, maxiter = 10000)
iv <- function(d, method, test) {
  fit <- rma(measure = "PLO", xi = xi, ni = ni, data = d, method = method, test = test, control = TIGHT)
  pr <- predict(fit)
  list(k = fit$k, b = num(fit$b), se = fit$se, stat = fit$zval, p = fit$pval, ci_lb = fit$ci.lb,
       ci_ub = fit$ci.ub, tau2 = fit$tau2, se_tau2 = num(fit$se.tau2), I2 = fit$I2, H2 = fit$H2,
       QE = fit$QE, QEp = fit$QEp, pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub))
}

glmm <- function(d) {
  fit <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d)
  pr <- predict(fit)
  list(k = fit$k, b = num(fit$b), se = fit$se, stat = fit$zval, p = fit$pval, ci_lb = fit$ci.lb,
       ci_ub = fit$ci.ub, tau2 = fit$tau2, QE_Wld = num(fit$QE.Wld), QEp_Wld = num(fit$QEp.Wld),
       QE_LRT = num(fit$QE.LRT), QEp_LRT = num(fit$QEp.LRT), pi_lb = num(pr$pi.lb),
       pi_ub = num(pr$pi.ub), loglik = num(fit$fit.stats["ll", "ML"]))
}

pft <- function(d) {
  es <- escalc(measure = "PFT", xi = xi, ni = ni, data = d)
  fit <- rma(yi, vi, data = es, method = "REML", control = TIGHT)
  hm <- 1 / mean(1 / d$ni)
  pr <- predict(fit, transf = transf.ipft.hm, targs = list(ni = d$ni))
  list(b = num(fit$b), se = fit$se, tau2 = fit$tau2, pred = num(pr$pred), ci_lb = num(pr$ci.lb),
       ci_ub = num(pr$ci.ub), pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), harmonic_n = hm)
}

out <- list()
for (name in names(sets)) {
  d <- sets[[name]]
  out[[name]] <- list(
    data = d,
    glmm = glmm(d),
    reml = iv(d, "REML", "z"), dl = iv(d, "DL", "z"), pm = iv(d, "PM", "z"),
    reml_knha = iv(d, "REML", "knha"),
    pft = pft(d)
  )
}
# meta-regression on source type (case report vs series)
mr <- rma.glmm(measure = "PLO", xi = events, ni = n, mods = ~ source_type, data = lit)
out$literature$glmm_mods <- list(b = num(mr$b), se = num(mr$se), tau2 = mr$tau2, QM = mr$QM,
                                 QMp = mr$QMp, terms = rownames(mr$b))
mr_iv <- rma(measure = "PLO", xi = events, ni = n, mods = ~ source_type, data = lit, method = "REML",
             control = TIGHT)
out$literature$reml_mods <- list(b = num(mr_iv$b), se = num(mr_iv$se), tau2 = mr_iv$tau2,
                                 QM = mr_iv$QM, QMp = mr_iv$QMp, QE = mr_iv$QE, QEp = mr_iv$QEp,
                                 terms = rownames(mr_iv$b))
out$versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                     lme4 = as.character(packageVersion("lme4")),
                     metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           file.path(here, "pooling.json"))
cat("wrote", file.path(here, "pooling.json"), "\n")

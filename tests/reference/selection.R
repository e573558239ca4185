# Reference values for the Vevea-Hedges step-function selection model (issue: publication
# selection) from metafor::selmodel(type = "stepfun"). Run once: Rscript tests/reference/selection.R
suppressPackageStartupMessages({library(metafor); library(metadat); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))

fit_sel <- function(yi, vi, steps, method = "ML", alternative = "greater") {
  fit <- rma(yi, vi, method = method)
  sel <- selmodel(fit, type = "stepfun", steps = steps, alternative = alternative)
  list(steps = steps, method = method, alternative = alternative,
       unadjusted = list(b = num(fit$b), se = num(fit$se), tau2 = fit$tau2, loglik = num(logLik(fit))),
       b = num(sel$b), se = num(sel$se), tau2 = sel$tau2, se_tau2 = num(sel$se.tau2),
       delta = num(sel$delta), se_delta = num(sel$se.delta), LRT = num(sel$LRT), LRTp = num(sel$LRTp),
       loglik = num(logLik(sel)), ci_lb = num(sel$ci.lb), ci_ub = num(sel$ci.ub),
       k_per_interval = num(sel$ptable$k))
}

out <- list()
h <- dat.hackshaw1998
out$hackshaw1998 <- list(data = data.frame(yi = h$yi, vi = h$vi),
                         two_steps = fit_sel(h$yi, h$vi, c(0.025, 1)),
                         three_steps = fit_sel(h$yi, h$vi, c(0.025, 0.5, 1)))
lit <- read.csv(file.path(here, "data", "literature_props.csv"))
series <- subset(lit, source_type == "series")
es <- escalc(measure = "PLO", xi = events, ni = n, data = series)  # 0.5 added to 0 / all cells
out$literature_series <- list(data = data.frame(yi = es$yi, vi = es$vi),
                              two_steps = fit_sel(es$yi, es$vi, c(0.05, 1)))
p <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
out$pritz1997 <- list(data = data.frame(yi = p$yi, vi = p$vi), two_steps = fit_sel(p$yi, p$vi, c(0.025, 1)))
out$versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                     metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           file.path(here, "selection.json"))
cat("wrote", file.path(here, "selection.json"), "\n")

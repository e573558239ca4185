# Times a loop of survival's bare coxph.fit for benchmarks/bench_batched_cox.py.
#
# Run: Rscript benchmarks/bench_batched_cox.R <data.csv> <ties> <runs> <out.json>
# data.csv: replicate, time_months, event, then the covariate columns (rows of a replicate
# together). Fits every replicate with coxph.fit (default coxph.control(), the given ties),
# times the whole loop <runs> times and writes the best wall and CPU seconds per fit and the
# coefficients.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
method <- args[2]
runs <- as.integer(args[3])
covariates <- setdiff(names(d), c("replicate", "time_months", "event"))
parts <- lapply(split(d, d$replicate), function(r)
  list(x = as.matrix(r[, covariates]), y = Surv(r$time_months, r$event)))
fit_all <- function() lapply(parts, function(p)
  coxph.fit(p$x, p$y, strata = NULL, offset = NULL, init = NULL, control = coxph.control(),
            weights = NULL, method = method, rownames = NULL)$coefficients)
coef <- fit_all()
cpu <- function(timing) timing[["user.self"]] + timing[["sys.self"]]
timings <- replicate(runs, {timing <- system.time(fit_all()); c(timing[["elapsed"]], cpu(timing))})
write_json(list(seconds_per_fit = min(timings[1, ]) / length(parts), cpu_per_fit = min(timings[2, ]) / length(parts), coef = unname(do.call(rbind, coef)),
                survival = as.character(packageVersion("survival")), R = R.version.string),
           args[4], digits = NA, auto_unbox = TRUE)

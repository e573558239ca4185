# Times cmprsk::crr for benchmarks/bench_fine_gray.py (start-up and package loading excluded).
#
# Run: Rscript benchmarks/bench_fine_gray.R <data.csv> <runs> <out.json>
# data.csv: time_months, event (0 censored, 1 cause, 2 competing), then the covariate columns.
# Writes the best elapsed seconds of <runs> fits, the coefficients and crr's SEs as JSON.
suppressPackageStartupMessages({library(cmprsk); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
runs <- as.integer(args[2])
cov <- as.matrix(d[, setdiff(names(d), c("time_months", "event")), drop = FALSE])
fit <- crr(d$time_months, d$event, cov1 = cov, failcode = 1, cencode = 0)
seconds <- min(replicate(runs, system.time(crr(d$time_months, d$event, cov1 = cov, failcode = 1,
                                                cencode = 0))[["elapsed"]]))
write_json(list(seconds = seconds, coef = unname(fit$coef), se = unname(sqrt(diag(fit$var))),
                cmprsk = as.character(packageVersion("cmprsk")), R = R.version.string),
           args[3], digits = NA, auto_unbox = TRUE)

# Times cmprsk::cuminc (cumulative incidence with variances plus Gray's test) for
# benchmarks/bench_competing.py, per call, median of several; start-up and loading excluded.
# Usage: Rscript bench_competing.R out.json calls data1.csv [data2.csv ...]
# Writes JSON: one entry per data file (by file name): {"rows", "median_ms", "statistic"
# (Gray's test of causes 1 and 2), "timer"}, and "versions".
suppressPackageStartupMessages({library(cmprsk); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
calls <- as.integer(args[2])

median_ms <- function(expr_fun) {
  expr_fun()  # warm up
  if (requireNamespace("bench", quietly = TRUE)) {
    m <- bench::mark(expr_fun(), iterations = calls, check = FALSE, filter_gc = FALSE)
    return(list(ms = as.numeric(m$median) * 1e3, timer = "bench::mark"))
  }
  t <- replicate(calls, system.time(expr_fun())[["elapsed"]])
  list(ms = median(t) * 1e3, timer = "system.time")
}

out <- lapply(setNames(args[-(1:2)], basename(args[-(1:2)])), function(path) {
  d <- read.csv(path)
  run <- function() cuminc(d$time_months, d$event, d$tier, cencode = 0)
  timing <- median_ms(run)
  fit <- run()
  list(rows = nrow(d), median_ms = timing$ms, timer = timing$timer,
       statistic = unname(fit$Tests[, "stat"]))
})
out <- c(list(versions = list(R = R.version.string,
                              cmprsk = as.character(packageVersion("cmprsk")))), out)
write_json(out, args[1], digits = NA, auto_unbox = TRUE)

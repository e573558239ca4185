# Times cmprsk::cuminc (cumulative incidence with variances plus Gray's test) for
# benchmarks/bench_competing.py, per call, median of several; start-up and loading excluded.
# Usage: Rscript bench_competing.R out.json calls data1.csv [data2.csv ...]
# Writes JSON: one entry per data file (by file name): {"rows", "median_ms", "min_ms" (wall,
# bench::mark), "cpu_ms" (user + system CPU per call over a loop of calls), "statistic"
# (Gray's test of causes 1 and 2), "timer"}, and "versions".
suppressPackageStartupMessages({library(cmprsk); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
calls <- as.integer(args[2])

timings <- function(expr_fun) {
  expr_fun()  # warm up
  cpu <- system.time(for (i in 1:calls) expr_fun())  # CPU seconds (user + system) per call
  cpu_ms <- (cpu[["user.self"]] + cpu[["sys.self"]]) / calls * 1e3
  if (requireNamespace("bench", quietly = TRUE)) {
    m <- bench::mark(expr_fun(), iterations = calls, check = FALSE, filter_gc = FALSE)
    return(list(ms = as.numeric(m$median) * 1e3, min_ms = as.numeric(m$min) * 1e3,
                cpu_ms = cpu_ms, timer = "bench::mark"))
  }
  t <- replicate(calls, system.time(expr_fun())[["elapsed"]])
  list(ms = median(t) * 1e3, min_ms = min(t) * 1e3, cpu_ms = cpu_ms, timer = "system.time")
}

out <- lapply(setNames(args[-(1:2)], basename(args[-(1:2)])), function(path) {
  d <- read.csv(path)
  run <- function() cuminc(d$time_months, d$event, d$tier, cencode = 0)
  timing <- timings(run)
  fit <- run()
  list(rows = nrow(d), median_ms = timing$ms, min_ms = timing$min_ms, cpu_ms = timing$cpu_ms,
       timer = timing$timer,
       statistic = unname(fit$Tests[, "stat"]))
})
out <- c(list(versions = list(R = R.version.string,
                              cmprsk = as.character(packageVersion("cmprsk")))), out)
write_json(out, args[1], digits = NA, auto_unbox = TRUE)

# Times R's coxph for benchmarks/bench_cox.py (per call, median of many; start-up and package
# loading excluded). Usage: Rscript bench_cox.R data.csv out.json calls
# Writes JSON: {"no_cluster": {"median_ms", "min_ms" (wall, bench::mark), "cpu_ms" (user +
# system CPU per call over a loop of calls), "timer", "coef", "se"}, "cluster": {...}, "versions"}.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
calls <- as.integer(args[3])
d$tier <- factor(d$tier, levels = c("ivig", "immunosuppression", "cytoreduction", "other"))
f <- Surv(time_months, event == 1) ~ tier + age_at_diagnosis_years + mrss

timings <- function(expr_fun) {
  for (i in 1:20) expr_fun()  # warm up
  cpu <- system.time(for (i in 1:calls) expr_fun())  # CPU seconds (user + system) per call
  cpu_ms <- (cpu[["user.self"]] + cpu[["sys.self"]]) / calls * 1e3
  if (requireNamespace("bench", quietly = TRUE)) {
    m <- bench::mark(expr_fun(), iterations = calls, check = FALSE, filter_gc = FALSE)
    return(list(ms = as.numeric(m$median) * 1e3, min_ms = as.numeric(m$min) * 1e3,
                cpu_ms = cpu_ms, timer = "bench::mark"))
  }
  block <- 10  # system.time resolves ~1 ms: time blocks of calls
  t <- replicate(max(calls %/% block, 5), system.time(for (i in 1:block) expr_fun())[["elapsed"]])
  list(ms = median(t) / block * 1e3, min_ms = min(t) / block * 1e3, cpu_ms = cpu_ms,
       timer = "system.time blocks of 10")
}

cases <- list(
  no_cluster = function() coxph(f, data = d),
  cluster = function() coxph(f, data = d, cluster = patient_id)
)
out <- lapply(cases, function(fun) {
  timing <- timings(fun)
  fit <- fun()
  list(median_ms = timing$ms, min_ms = timing$min_ms, cpu_ms = timing$cpu_ms,
       timer = timing$timer, coef = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))))
})
out$versions <- list(R = R.version.string, survival = as.character(packageVersion("survival")))
write_json(out, args[2], digits = NA, auto_unbox = TRUE)

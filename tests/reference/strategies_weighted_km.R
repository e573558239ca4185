# Weighted Kaplan-Meier (relapse-free survival: relapse or death) and weighted Aalen-Johansen
# (relapse, death competing) on counting-process rows (start, stop], the reference of
# sclero_analysis.strategies.curves.weighted_curve.
# Run: Rscript tests/reference/strategies_weighted_km.R  (writes strategies_weighted_km.json)
library(survival)
library(jsonlite)
set.seed(20)
n <- 40
start <- round(runif(n, 0, 3) * (runif(n) < 0.4), 2)   # some rows enter late (a later month)
stop <- start + round(rexp(n, 1 / 8) + 0.05, 2)
status <- sample(0:2, n, replace = TRUE, prob = c(0.4, 0.45, 0.15))
weight <- round(exp(rnorm(n, 0, 0.5)), 3)
km <- survfit(Surv(start, stop, status > 0) ~ 1, weights = weight)
aj <- survfit(Surv(start, stop, factor(status, 0:2)) ~ 1, weights = weight, id = seq_len(n))
times <- c(1, 2.5, 5, 8, 12, 20)
s_km <- summary(km, times = times, extend = TRUE)
s_aj <- summary(aj, times = times, extend = TRUE)
out <- list(
  data = list(start = start, stop = stop, status = status, weight = weight),
  times = times,
  survival = s_km$surv,
  relapse_cif = unname(s_aj$pstate[, 2]),
  event_times = km$time[km$n.event > 0],
  survival_at_events = km$surv[km$n.event > 0],
  versions = list(R = R.version.string, survival = as.character(packageVersion("survival")))
)
write_json(out, "tests/reference/strategies_weighted_km.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

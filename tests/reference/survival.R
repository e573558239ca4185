# Reference values for sclero_analysis' survival estimators, computed with R's survival.
#
# Run from the repository root:  Rscript tests/reference/survival.R
# Needs: apt-get install r-base-core r-cran-survival r-cran-cmprsk r-cran-jsonlite
# Writes tests/reference/data/relapse.csv (the data) and tests/reference/survival.json (the
# values, with R and package versions). The test suite reads both and never needs R.
suppressPackageStartupMessages({library(survival); library(jsonlite)})

out_dir <- "tests/reference"
set.seed(20261125)

# --- data: line-level relapse times with ties, censoring, competing death, weights, sites ----
make_relapse <- function(n = 150) {
  tier <- factor(rep(c("ivig", "immunosuppression", "cytoreduction", "other"), c(60, 45, 30, 15)),
                 levels = c("ivig", "immunosuppression", "cytoreduction", "other"))
  age <- round(rnorm(n, 58, 11), 1)
  mrss <- round(pmin(pmax(rnorm(n, 20, 8), 0), 51), 0)
  sex <- factor(sample(c("F", "M"), n, replace = TRUE))
  site <- factor(sprintf("S%02d", sample(1:8, n, replace = TRUE)))
  scale <- c(30, 22, 18, 12)[as.integer(tier)] * exp(-0.01 * (age - 58))
  t_event <- rweibull(n, shape = 1.3, scale = scale)
  t_death <- rexp(n, 1 / 150)
  t_cens <- runif(n, 6, 72)
  time <- pmin(t_event, t_death, t_cens)
  event <- ifelse(time == t_event, 1L, ifelse(time == t_death, 2L, 0L))
  time <- pmax(round(time * 2) / 2, 0.5)          # half-month grid: many ties
  weight <- round(runif(n, 0.4, 3), 4)           # non-integer (IPTW-like)
  iweight <- sample(1:3, n, replace = TRUE)      # integer (frequency) weights
  data.frame(time_months = time, event = event, tier = tier, sex = sex, site = site,
             age = age, mrss = mrss, weight = weight, iweight = iweight)
}
relapse <- make_relapse()
write.csv(relapse, file.path(out_dir, "data", "relapse.csv"), row.names = FALSE)

worked <- data.frame(time_months = c(1, 2, 2, 3, 4), event = c(1, 1, 1, 0, 1))
flat <- data.frame(time_months = c(1, 2, 3, 4), event = c(1, 1, 1, 1))

# --- Kaplan-Meier ------------------------------------------------------------------------------
km_values <- function(fit) {
  strata <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(sub("^tier=", "", names(fit$strata)), fit$strata)
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  list(group = strata, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
       n_censor = fit$n.censor, survival = fit$surv, std_err = fit$std.err,
       logse = fit$logse, lower = fit$lower, upper = fit$upper,
       median = unname(tab[, "median"]), median_lower = unname(tab[, "0.95LCL"]),
       median_upper = unname(tab[, "0.95UCL"]))
}
km <- list()
for (ct in c("log", "log-log", "plain")) {
  km[[paste0("relapse_", ct)]] <- km_values(
    survfit(Surv(time_months, event == 1) ~ tier, data = relapse, conf.type = ct))
  km[[paste0("worked_", ct)]] <- km_values(
    survfit(Surv(time_months, event == 1) ~ 1, data = worked, conf.type = ct))
}
km$flat_log <- km_values(survfit(Surv(time_months, event == 1) ~ 1, data = flat))
km$relapse_weighted_ij <- km_values(
  survfit(Surv(time_months, event == 1) ~ tier, data = relapse, weights = weight))
km$relapse_weighted_integer <- km_values(
  survfit(Surv(time_months, event == 1) ~ tier, data = relapse, weights = iweight))
km$relapse_death <- km_values(           # cause 2 (death), relapse counted as censored
  survfit(Surv(time_months, event == 2) ~ tier, data = relapse))

# --- log-rank family ---------------------------------------------------------------------------
lr_values <- function(sd) {
  list(statistic = sd$chisq, dof = length(sd$n) - 1L, observed = unname(sd$obs),
       expected = unname(sd$exp),
       observed_by_stratum = if (is.matrix(sd$obs)) unname(rowSums(sd$obs)) else NULL,
       expected_by_stratum = if (is.matrix(sd$exp)) unname(rowSums(sd$exp)) else NULL)
}
lr <- list(
  rho0 = lr_values(survdiff(Surv(time_months, event == 1) ~ tier, data = relapse)),
  rho1 = lr_values(survdiff(Surv(time_months, event == 1) ~ tier, data = relapse, rho = 1)),
  strata_sex = lr_values(survdiff(Surv(time_months, event == 1) ~ tier + strata(sex), data = relapse)),
  two_groups = lr_values(survdiff(Surv(time_months, event == 1) ~ tier,
                                  data = droplevels(subset(relapse, tier %in% c("ivig", "cytoreduction")))))
)
# trend: (c'(O-E))^2 / c'Vc with survdiff's own O, E and variance matrix V, scores c = 1..4
trend_stat <- function(sd, scores = seq_along(sd$n)) {
  o <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  e <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  drop(sum(scores * (o - e))^2 / (t(scores) %*% sd$var %*% scores))
}
lr$trend <- list(statistic = trend_stat(survdiff(Surv(time_months, event == 1) ~ tier, data = relapse)))
lr$trend_strata_sex <- list(statistic = trend_stat(
  survdiff(Surv(time_months, event == 1) ~ tier + strata(sex), data = relapse)))
# without tied event times the trend test equals coxph's score test (one numeric covariate)
untied <- transform(relapse, time_months = time_months + seq_len(nrow(relapse)) * 1e-4)
write.csv(untied, file.path(out_dir, "data", "relapse_untied.csv"), row.names = FALSE)
lr$trend_untied_cox_score <- list(statistic = unname(
  coxph(Surv(time_months, event == 1) ~ as.numeric(tier), data = untied, ties = "breslow")$score))
doc <- data.frame(time_months = 1:6, event = c(1, 1, 0, 1, 1, 0), tier = rep(c("a", "b"), each = 3))
lr$docstring <- lr_values(survdiff(Surv(time_months, event == 1) ~ tier, data = doc))

# --- restricted mean (print.survfit's rmean = survRM2's rmst1, docs/methods.md §1 and §9) -------------
rm_values <- function(fit, tau) {
  tab <- summary(fit, rmean = tau)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  list(tau = tau, rmst = unname(tab[, "rmean"]), se = unname(tab[, "se(rmean)"]))
}
rm <- list(
  relapse_24 = rm_values(survfit(Surv(time_months, event == 1) ~ tier, data = relapse), 24),
  relapse_36 = rm_values(survfit(Surv(time_months, event == 1) ~ tier, data = relapse), 36),
  worked_4 = rm_values(survfit(Surv(time_months, event == 1) ~ 1, data = worked), 4),
  weighted_integer_24 = rm_values(
    survfit(Surv(time_months, event == 1) ~ tier, data = relapse, weights = iweight), 24)
)

values <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              jsonlite = as.character(packageVersion("jsonlite")), seed = 20261125,
              script = "tests/reference/survival.R"),
  kaplan_meier = km, logrank = lr, rmst = rm
)
write_json(values, file.path(out_dir, "survival.json"), digits = NA, auto_unbox = TRUE,
           na = "string", pretty = TRUE)
cat("wrote", file.path(out_dir, "survival.json"), "\n")

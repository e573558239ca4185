# Reference values for the tables a reader expects (issue 22, point 4): survival and cumulative
# incidence at fixed times with confidence intervals (summary(survfit, times=), cmprsk's
# timepoints), median follow-up by the reverse Kaplan-Meier (survfit(Surv(time, event == 0) ~ 1))
# and pairwise log-rank tests with p-value adjustment (survminer::pairwise_survdiff, written
# out here: survdiff per pair of groups, then p.adjust over all pairs).
#
# Run from the repository root:  Rscript tests/reference/tables22.R
# Needs: apt-get install r-base-core r-cran-survival r-cran-cmprsk r-cran-jsonlite
# Reads tests/reference/data/shipped_relapse.csv (written by make_tables22_data.py: the shipped
# registry's relapse frame); writes tests/reference/data/veteran.csv and lung_full.csv (R data
# sets) and tests/reference/tables22.json (values with R and package versions). The test suite
# reads them and never needs R.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})

out_dir <- "tests/reference"
data_dir <- file.path(out_dir, "data")
tiers <- c("ivig", "immunosuppression", "cytoreduction", "other")

shipped <- read.csv(file.path(data_dir, "shipped_relapse.csv"))
shipped$tier <- factor(shipped$tier, levels = tiers)
vet <- with(veteran, data.frame(time = time, status = status, celltype = as.character(celltype),
                                trt = trt))
write.csv(vet, file.path(data_dir, "veteran.csv"), row.names = FALSE)
lung_full <- with(lung, data.frame(time = time, status = status, sex = sex))
write.csv(lung_full, file.path(data_dir, "lung_full.csv"), row.names = FALSE)

# --- survival and cumulative incidence at fixed times ----------------------------------------
strata_of <- function(s, n) {
  if (is.null(s$strata)) rep("all", n) else sub("^[^=]*=", "", as.character(s$strata))
}
km_at <- function(fit, times, extend = FALSE) {
  s <- summary(fit, times = times, extend = extend)
  list(group = strata_of(s, length(s$time)), time = s$time, n_risk = s$n.risk,
       estimate = s$surv, se = s$std.err, lower = s$lower, upper = s$upper)
}
cif_at <- function(fit, times, state = "1", extend = FALSE) {
  s <- summary(fit, times = times, extend = extend)
  k <- match(state, fit$states)
  list(group = strata_of(s, length(s$time)), time = s$time, n_risk = s$n.risk[, 1],
       estimate = s$pstate[, k], se = s$std.err[, k], lower = s$lower[, k], upper = s$upper[, k])
}
# survival 3.5's multi-state survfit ignores cluster= (its std.err stays the unclustered IJ), so
# the clustered SE at fixed times is the pstate influence (resid(type = "pstate"), the IJ
# survfit uses) summed within patients, as tests/reference/clustered.R does at every time;
# limits by survfit's own survfit_confint (log), the estimate and its limits before a group's
# first time being 0 as summary() reports them.
cif_cluster_at <- function(data, times, state = "1") {
  data$.state <- factor(data$event, 0:2)
  out <- list(group = character(0), time = numeric(0), n_risk = numeric(0), estimate = numeric(0),
              se = numeric(0), lower = numeric(0), upper = numeric(0))
  for (lv in levels(droplevels(data$tier))) {
    part <- data[data$tier == lv, ]
    assign(".rdata", part, envir = globalenv())  # resid() re-reads the data by name
    fit <- survfit(Surv(time_months, .state) ~ 1, data = .rdata)
    k <- match(state, fit$states)
    s <- summary(fit, times = times, extend = TRUE)
    r <- resid(fit, times = times, type = "pstate")[, , k]
    se <- sqrt(colSums(rowsum(r, part$patient_id)^2))
    ci <- survival:::survfit_confint(s$pstate[, k], se, logse = FALSE, conf.type = "log",
                                     conf.int = 0.95)
    first <- times < min(fit$time)
    out$group <- c(out$group, rep(lv, length(times)))
    out$time <- c(out$time, times)
    out$n_risk <- c(out$n_risk, s$n.risk[, 1])
    out$estimate <- c(out$estimate, s$pstate[, k])
    out$se <- c(out$se, se)
    out$lower <- c(out$lower, ifelse(first, 0, ci$lower))
    out$upper <- c(out$upper, ifelse(first, 0, ci$upper))
  }
  out
}
times <- c(0, 0.5, 6, 12, 24, 36, 60, 80, 100)
lung_times <- c(0, 5, 90, 180, 365, 730, 1000)
at <- list(
  km_tier_log = km_at(survfit(Surv(time_months, event == 1) ~ tier, data = shipped), times),
  km_tier_log_extend = km_at(survfit(Surv(time_months, event == 1) ~ tier, data = shipped),
                             times, extend = TRUE),
  km_tier_loglog = km_at(survfit(Surv(time_months, event == 1) ~ tier, data = shipped,
                                 conf.type = "log-log"), times),
  km_tier_cluster = km_at(survfit(Surv(time_months, event == 1) ~ tier, data = shipped,
                                  cluster = patient_id), times),
  km_all_plain = km_at(survfit(Surv(time_months, event == 1) ~ 1, data = shipped,
                               conf.type = "plain"), times, extend = TRUE),
  km_lung_sex = km_at(survfit(Surv(time, status == 2) ~ sex, data = lung_full), lung_times),
  km_lung_sex_loglog = km_at(survfit(Surv(time, status == 2) ~ sex, data = lung_full,
                                     conf.type = "log-log"), lung_times, extend = TRUE),
  cif_tier = cif_at(survfit(Surv(time_months, factor(event, 0:2)) ~ tier, data = shipped),
                    times),
  cif_tier_death = cif_at(survfit(Surv(time_months, factor(event, 0:2)) ~ tier, data = shipped),
                          times, state = "2"),
  cif_tier_cluster = cif_cluster_at(shipped, times)
)
# cmprsk's variance at fixed times (timepoints: the step at or before each time)
ci <- cuminc(shipped$time_months, shipped$event, shipped$tier, cencode = 0)
tp <- timepoints(ci, times)
cuminc_at <- list(times = times, rows = rownames(tp$est),
                  est = unname(split(tp$est, row(tp$est))),
                  var = unname(split(tp$var, row(tp$var))))

# --- median follow-up: reverse Kaplan-Meier (censoring is the event) --------------------------
medians <- function(fit) {
  tab <- summary(fit)$table
  if (is.null(dim(tab))) tab <- t(as.matrix(tab))
  groups <- if (is.null(fit$strata)) "all" else sub("^[^=]*=", "", names(fit$strata))
  list(group = groups, n = unname(tab[, "records"]), events = unname(tab[, "events"]),
       median = unname(tab[, "median"]), lower = unname(tab[, "0.95LCL"]),
       upper = unname(tab[, "0.95UCL"]))
}
followup <- list(
  shipped_all = medians(survfit(Surv(time_months, event == 0) ~ 1, data = shipped)),
  shipped_tier = medians(survfit(Surv(time_months, event == 0) ~ tier, data = shipped)),
  shipped_tier_cluster = medians(survfit(Surv(time_months, event == 0) ~ tier, data = shipped,
                                         cluster = patient_id)),
  shipped_loglog = medians(survfit(Surv(time_months, event == 0) ~ 1, data = shipped,
                                   conf.type = "log-log")),
  lung_all = medians(survfit(Surv(time, status == 1) ~ 1, data = lung_full)),
  lung_sex = medians(survfit(Surv(time, status == 1) ~ sex, data = lung_full)),
  veteran_trt = medians(survfit(Surv(time, status == 0) ~ trt, data = vet))
)

# --- pairwise log-rank tests (survminer::pairwise_survdiff's algorithm) -----------------------
pairwise <- function(formula, data, group, rho = 0, cluster = NULL) {
  levels_ <- levels(factor(data[[group]], levels = unique(c(levels(data[[group]]),
                                                           sort(unique(data[[group]]))))))
  levels_ <- levels_[levels_ %in% data[[group]]]
  compare <- function(i, j) {
    sub <- data[data[[group]] %in% levels_[c(i, j)], , drop = FALSE]
    sub[[group]] <- factor(sub[[group]], levels = levels_[c(j, i)])
    if (is.null(cluster)) {
      d <- survdiff(formula, data = sub, rho = rho)
      return(c(d$chisq, length(d$n) - 1))
    }
    sub$.cl <- sub[[cluster]]
    fit <- coxph(update(formula, . ~ . + cluster(.cl)), data = sub)
    c(unname(summary(fit)$robscore["test"]), unname(summary(fit)$robscore["df"]))
  }
  rows <- list()
  for (j in seq_along(levels_)) for (i in seq_along(levels_)) if (i > j) {
    r <- compare(i, j)
    rows[[length(rows) + 1]] <- data.frame(group1 = levels_[j], group2 = levels_[i],
                                           statistic = r[1], dof = r[2])
  }
  out <- do.call(rbind, rows)
  out$p <- pchisq(out$statistic, out$dof, lower.tail = FALSE)
  for (method in c("holm", "bonferroni", "BH", "none")) {
    out[[paste0("p_", method)]] <- p.adjust(out$p, method = method)
  }
  # survminer's own table: pairwise.table over the lower triangle, as a check of the algorithm
  pv <- pairwise.table(function(i, j) {
    sub <- data[data[[group]] %in% levels_[c(i, j)], , drop = FALSE]
    d <- survdiff(formula, data = sub, rho = rho)
    pchisq(d$chisq, length(d$n) - 1, lower.tail = FALSE)
  }, levels_, "holm")
  list(table = as.list(out), survminer_holm = unname(pv[lower.tri(pv, diag = TRUE)]))
}
pairs <- list(
  shipped_tier = pairwise(Surv(time_months, event == 1) ~ tier, shipped, "tier"),
  shipped_tier_rho1 = pairwise(Surv(time_months, event == 1) ~ tier, shipped, "tier", rho = 1),
  shipped_tier_cluster = pairwise(Surv(time_months, event == 1) ~ tier, shipped, "tier",
                                  cluster = "patient_id"),
  veteran_celltype = pairwise(Surv(time, status) ~ celltype, vet, "celltype")
)

values <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              cmprsk = as.character(packageVersion("cmprsk")),
              jsonlite = as.character(packageVersion("jsonlite")),
              script = "tests/reference/tables22.R"),
  times = times, lung_times = lung_times, at = at, cuminc_at = cuminc_at,
  followup = followup, pairwise = pairs
)
write_json(values, file.path(out_dir, "tables22.json"), digits = NA, auto_unbox = TRUE,
           na = "string", pretty = TRUE)
cat("wrote", file.path(out_dir, "tables22.json"), "\n")

# Reference values for clustered (robust) inference, frequency weights, degenerate Cox levels
# and formulas with dotted names, computed with R's survival and cmprsk.
#
# Run from the repository root after survival.R:  Rscript tests/reference/clustered.R
# Needs: apt-get install r-base-core r-cran-survival r-cran-cmprsk r-cran-jsonlite
# Reads tests/reference/data/relapse.csv and relapse_untied.csv; writes the data it adds
# (tests/reference/data/clusters.csv, cgd_gap.csv, mgus2.csv, lung.csv) and
# tests/reference/clustered.json (values with R and package versions). The test suite reads
# both and never needs R.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})

out_dir <- "tests/reference"
data_dir <- file.path(out_dir, "data")
set.seed(20261207)
tiers <- c("ivig", "immunosuppression", "cytoreduction", "other")

# --- data ----------------------------------------------------------------------------------
relapse <- read.csv(file.path(data_dir, "relapse.csv"))
relapse$tier <- factor(relapse$tier, levels = tiers)
# 60 patients for 150 lines: most patients have several lines, some in several tiers
relapse$id <- sprintf("P%02d", sample(1:60, nrow(relapse), replace = TRUE))
untied <- read.csv(file.path(data_dir, "relapse_untied.csv"))
untied$tier <- factor(untied$tier, levels = tiers)
untied$id <- relapse$id
write.csv(data.frame(id = relapse$id), file.path(data_dir, "clusters.csv"), row.names = FALSE)

# cgd: recurrent infections, several rows per patient; gap times between infections
cgd_gap <- with(cgd, data.frame(id = id, gap = tstop - tstart, status = status,
                                treat = as.character(treat), sex = as.character(sex)))
write.csv(cgd_gap, file.path(data_dir, "cgd_gap.csv"), row.names = FALSE)

# mgus2: progression (1) competing with death (2); integer frequency weights; random clusters
mg <- with(mgus2, data.frame(id = id, age = age, sex = as.character(sex),
                             time = ifelse(pstat == 1, ptime, futime),
                             event = ifelse(pstat == 1, 1L, 2L * death)))
mg$fweight <- sample(1:3, nrow(mg), replace = TRUE)
mg$cl <- sample(1:400, nrow(mg), replace = TRUE)
write.csv(mg, file.path(data_dir, "mgus2.csv"), row.names = FALSE)

lung_cc <- na.omit(lung[, c("time", "status", "ph.ecog", "wt.loss", "sex", "age")])
write.csv(lung_cc, file.path(data_dir, "lung.csv"), row.names = FALSE)

# --- Kaplan-Meier, clustered infinitesimal jackknife ---------------------------------------
km_values <- function(fit) {
  strata <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(sub("^[^=]*=", "", names(fit$strata)), fit$strata)
  list(group = strata, time = fit$time, n_risk = fit$n.risk, survival = fit$surv,
       std_err = fit$std.err, logse = fit$logse, lower = fit$lower, upper = fit$upper)
}
km <- list(
  relapse_cluster_log = km_values(survfit(Surv(time_months, event == 1) ~ tier, data = relapse,
                                          cluster = id)),
  relapse_cluster_plain = km_values(survfit(Surv(time_months, event == 1) ~ tier, data = relapse,
                                            cluster = id, conf.type = "plain")),
  relapse_cluster_weights = km_values(survfit(Surv(time_months, event == 1) ~ tier, data = relapse,
                                              cluster = id, weights = weight)),
  relapse_cluster_iweights_death = km_values(survfit(Surv(time_months, event == 2) ~ tier,
                                                     data = relapse, cluster = id,
                                                     weights = iweight)),
  cgd_cluster = km_values(survfit(Surv(gap, status) ~ treat, data = cgd_gap, cluster = id,
                                  conf.type = "log-log")),
  mgus2_cluster_plain = km_values(survfit(Surv(time, event == 1) ~ sex, data = mg, cluster = cl,
                                          conf.type = "plain")),
  # the IJ standard error is 0 where the curve reaches 0: plain limits are [0, 0]
  worked_weights_plain = km_values(survfit(Surv(time, event) ~ 1, conf.type = "plain",
                                           data = data.frame(time = c(1, 2, 2, 3, 4),
                                                             event = c(1, 1, 1, 0, 1)),
                                           weights = c(1.5, 1, 0.5, 2, 0.7)))
)

# --- cumulative incidence (multi-state survfit), clustered -------------------------------
# survfit's multi-state standard errors ignore `cluster` in survival 3.5 (survfitCI passes the
# row id, not the cluster, to its curves), so the clustered reference sums survfit's per-row
# influence (resid(..., type = "pstate", weighted = TRUE)) within clusters; without clusters
# the same sum equals survfit's std.err, which the script checks.
cif_values <- function(data, time, group, cluster, weights = NULL, event = "event") {
  data$.state <- factor(data[[event]], 0:2, labels = c("censor", "cause", "competing"))
  data$.w <- if (is.null(weights)) rep(1, nrow(data)) else data[[weights]]
  g <- as.character(data[[group]])
  levels <- if (is.factor(data[[group]])) levels(droplevels(data[[group]])) else sort(unique(g))
  out <- list(group = character(0), time = numeric(0), cif = numeric(0), se = numeric(0))
  for (lv in levels) {
    part <- data[g == lv, ]
    assign(".rdata", part, envir = globalenv())
    fit <- eval(bquote(survfit(Surv(.(as.name(time)), .state) ~ 1, data = .rdata, weights = .w)))
    col <- which(fit$states == "cause")
    r <- resid(fit, times = fit$time, type = "pstate", weighted = TRUE)[, , col]
    stopifnot(isTRUE(all.equal(unname(sqrt(colSums(r^2))), unname(fit$std.err[, col]),
                                tolerance = 1e-10)))
    out$group <- c(out$group, rep(lv, length(fit$time)))
    out$time <- c(out$time, fit$time)
    out$cif <- c(out$cif, unname(fit$pstate[, col]))
    out$se <- c(out$se, sqrt(colSums(rowsum(r, part[[cluster]])^2)))
  }
  out
}
cif <- list(
  relapse_cluster = cif_values(relapse, "time_months", "tier", "id"),
  relapse_cluster_weights = cif_values(relapse, "time_months", "tier", "id", "weight"),
  mgus2_cluster = cif_values(mg, "time", "sex", "cl"),
  mgus2_cluster_fweights = cif_values(mg, "time", "sex", "cl", "fweight")
)

# --- RMST: survfit's influence integrated to tau, summed by cluster -----------------------
rmst_values <- function(data, formula, tau, group, cluster = NULL, weights = NULL) {
  w <- if (is.null(weights)) rep(1, nrow(data)) else data[[weights]]
  cl <- if (is.null(cluster)) seq_len(nrow(data)) else data[[cluster]]
  data$.w <- w
  data$.cl <- cl
  # resid() re-evaluates the call's model frame in the global environment
  assign(".rdata", data, envir = globalenv())
  fit <- eval(bquote(survfit(.(formula), data = .rdata, weights = .w, cluster = .cl)))
  r <- resid(fit, times = tau, type = "rmst", weighted = TRUE)[, 1]
  g <- as.character(data[[group]])
  levels <- if (is.factor(data[[group]])) levels(droplevels(data[[group]])) else sort(unique(g))
  rmst <- unname(summary(fit, rmean = tau)$table[, "rmean"])
  se <- sapply(levels, function(lv) sqrt(sum(rowsum(r * (g == lv), cl)^2)))
  pairs <- combn(seq_along(levels), 2)
  diff_se <- apply(pairs, 2, function(p) {
    u <- r * (g == levels[p[2]]) - r * (g == levels[p[1]])
    sqrt(sum(rowsum(u, cl)^2))
  })
  ratio_se <- apply(pairs, 2, function(p) {
    u <- r * (g == levels[p[2]]) / rmst[p[2]] - r * (g == levels[p[1]]) / rmst[p[1]]
    sqrt(sum(rowsum(u, cl)^2))
  })
  list(tau = tau, group = levels, rmst = rmst, se = unname(se),
       reference = levels[pairs[1, ]], other = levels[pairs[2, ]], difference_se = diff_se,
       log_ratio_se = ratio_se)
}
rmst <- list(
  relapse_cluster_24 = rmst_values(relapse, Surv(time_months, event == 1) ~ tier, 24, "tier", "id"),
  relapse_cluster_weights_36 = rmst_values(relapse, Surv(time_months, event == 1) ~ tier, 36,
                                           "tier", "id", "weight"),
  relapse_weights_24 = rmst_values(relapse, Surv(time_months, event == 1) ~ tier, 24, "tier",
                                   NULL, "weight"),
  cgd_cluster_150 = rmst_values(cgd_gap, Surv(gap, status) ~ treat, 150, "treat", "id"),
  mgus2_cluster_fweights_200 = rmst_values(mg, Surv(time, event == 1) ~ sex, 200, "sex", "cl",
                                           "fweight")
)

# --- log-rank: robust score test of coxph(Surv ~ group, cluster = id) ----------------------
rscore <- function(fit) list(statistic = fit$rscore, dof = sum(!is.na(coef(fit))))
relapse$score <- c(1, 2, 3, NA)[as.integer(relapse$tier)]
ordered3 <- subset(relapse, tier != "other")
logrank <- list(
  relapse_cluster = rscore(coxph(Surv(time_months, event == 1) ~ tier, data = relapse, cluster = id)),
  relapse_cluster_strata = rscore(coxph(Surv(time_months, event == 1) ~ tier + strata(sex),
                                        data = relapse, cluster = id)),
  relapse_cluster_weights = rscore(coxph(Surv(time_months, event == 1) ~ tier, data = relapse,
                                         cluster = id, weights = weight)),
  relapse_weights = rscore(coxph(Surv(time_months, event == 1) ~ tier, data = relapse,
                                 weights = weight)),
  relapse_cluster_death = rscore(coxph(Surv(time_months, event == 2) ~ tier, data = relapse,
                                       cluster = id)),
  relapse_cluster_trend = rscore(coxph(Surv(time_months, event == 1) ~ score, data = ordered3,
                                       cluster = id)),
  cgd_cluster = rscore(coxph(Surv(gap, status) ~ treat, data = cgd_gap, cluster = id)),
  cgd_cluster_strata = rscore(coxph(Surv(gap, status) ~ treat + strata(sex), data = cgd_gap,
                                    cluster = id)),
  mgus2_cluster_fweights = rscore(coxph(Surv(time, event == 1) ~ sex, data = mg, cluster = cl,
                                        weights = fweight))
)

# --- Fine-Gray: coxph on finegray() data with cluster(id) -----------------------------------
# On untied times finegray's weights equal crr's, so the coefficients agree up to crr's
# convergence tolerance and the clustered SEs are comparable.
fg_values <- function(data, formula_rhs) {
  data$status <- factor(data$event, 0:2, c("censor", "relapse", "death"))
  fg <- finegray(Surv(time_months, status) ~ ., data = data, etype = "relapse")
  f <- as.formula(paste("Surv(fgstart, fgstop, fgstatus) ~", formula_rhs))
  fit <- coxph(f, data = fg, weights = fgwt, cluster = id, ties = "breslow")
  x <- model.matrix(as.formula(paste("~", formula_rhs)), data)[, -1, drop = FALSE]
  crr_fit <- crr(data$time_months, data$event, x, failcode = 1, cencode = 0)
  list(terms = names(coef(fit)), coef = unname(coef(fit)), se = unname(sqrt(diag(fit$var))),
       crr_coef = unname(crr_fit$coef))
}
fine_gray <- list(untied_cluster = fg_values(untied, "tier + age"))

# --- Cox: a level never at risk at an event time; frequency weights; dotted names --------
cox_values <- function(fit) {
  list(terms = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))), loglik = fit$loglik[2],
       lr = unname(summary(fit)$logtest["test"]), dof = unname(summary(fit)$logtest["df"]),
       score = unname(summary(fit)$sctest["test"]), robust = !is.null(fit$naive.var))
}
degenerate <- relapse
# "other" lines all end (censored) before the first event time: never at risk at an event
degenerate$time_months[degenerate$tier == "other"] <- 0.25
degenerate$event[degenerate$tier == "other"] <- 0
write.csv(data.frame(time_months = degenerate$time_months, event = degenerate$event),
          file.path(data_dir, "relapse_degenerate.csv"), row.names = FALSE)
cox <- list(
  degenerate = cox_values(coxph(Surv(time_months, event == 1) ~ tier + age, data = degenerate)),
  integer_weights = cox_values(coxph(Surv(time_months, event == 1) ~ tier + age,
                                     data = relapse, weights = iweight)),
  mgus2_fweights = cox_values(coxph(Surv(time, event == 2) ~ sex + age, data = mg,
                                    weights = fweight)),
  mgus2_fweights_robust = cox_values(coxph(Surv(time, event == 2) ~ sex + age, data = mg,
                                           weights = fweight, robust = TRUE)),
  lung_dotted = cox_values(coxph(Surv(time, status == 2) ~ ph.ecog + wt.loss + sex, data = lung_cc))
)

values <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              cmprsk = as.character(packageVersion("cmprsk")),
              jsonlite = as.character(packageVersion("jsonlite")), seed = 20261207,
              script = "tests/reference/clustered.R"),
  kaplan_meier = km, cumulative_incidence = cif, rmst = rmst, logrank = logrank,
  fine_gray = fine_gray, cox = cox
)
write_json(values, file.path(out_dir, "clustered.json"), digits = NA, auto_unbox = TRUE,
           na = "string", pretty = TRUE)
cat("wrote", file.path(out_dir, "clustered.json"), "\n")

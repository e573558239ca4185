# Reference values for sclero_analysis' competing-risks estimators: cmprsk and survival.
#
# Run from the repository root after survival.R:  Rscript tests/reference/competing.R
# Reads tests/reference/data/relapse.csv; writes tests/reference/competing.json.
suppressPackageStartupMessages({library(survival); library(cmprsk); library(jsonlite)})
out_dir <- "tests/reference"
relapse <- read.csv(file.path(out_dir, "data", "relapse.csv"))
tiers <- c("ivig", "immunosuppression", "cytoreduction", "other")
relapse$tier <- factor(relapse$tier, levels = tiers)

cif_values <- function(data, cause) {
  ci <- cuminc(data$time_months, data$event, data$tier, cencode = 0)
  out <- list()
  for (g in levels(droplevels(data$tier))) {
    times <- sort(unique(data$time_months[data$tier == g]))
    tp <- timepoints(ci, times)
    key <- paste(g, cause)
    out[[g]] <- list(time = times, cif = unname(tp$est[key, ]), var = unname(tp$var[key, ]))
  }
  out$gray_statistic <- unname(ci$Tests[as.character(cause), "stat"])
  out$gray_df <- unname(ci$Tests[as.character(cause), "df"])
  out
}
values <- list(
  meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
              cmprsk = as.character(packageVersion("cmprsk")), script = "tests/reference/competing.R"),
  cuminc_relapse = cif_values(relapse, 1),
  cuminc_death = cif_values(relapse, 2)
)
values$gray_strata_sex <- unname(cuminc(relapse$time_months, relapse$event, relapse$tier,
                                        strata = relapse$sex, cencode = 0)$Tests["1", "stat"])
values$gray_rho_1 <- unname(cuminc(relapse$time_months, relapse$event, relapse$tier, rho = 1,
                                   cencode = 0)$Tests["1", "stat"])
two <- droplevels(subset(relapse, tier %in% c("ivig", "cytoreduction")))
values$gray_two_groups <- unname(cuminc(two$time_months, two$event, two$tier, cencode = 0)$Tests["1", "stat"])

# survfit's multi-state Aalen-Johansen with infinitesimal-jackknife standard errors
ms <- function(data, weights = NULL) {
  data$state <- factor(data$event, 0:2, labels = c("censor", "relapse", "death"))
  fit <- if (is.null(weights)) survfit(Surv(time_months, state) ~ tier, data = data) else
    survfit(Surv(time_months, state) ~ tier, data = data, weights = data[[weights]])
  strata <- rep(sub("^tier=", "", names(fit$strata)), fit$strata)
  col <- which(fit$states == "relapse")
  list(group = strata, time = fit$time, cif = unname(fit$pstate[, col]),
       se = unname(fit$std.err[, col]), n_risk = unname(fit$n.risk[, 1]))
}
values$survfit_ij <- ms(relapse)
values$survfit_ij_weighted <- ms(relapse, "weight")

# Fine-Gray: crr with the model matrix of tier + age + mrss (treatment coding, ivig reference)
crr_values <- function(data, formula, cause) {
  cov <- model.matrix(formula, data = data)[, -1, drop = FALSE]
  fit <- crr(data$time_months, data$event, cov1 = cov, failcode = cause, cencode = 0)
  list(terms = colnames(cov), coef = unname(fit$coef), se = unname(sqrt(diag(fit$var))),
       loglik = fit$loglik, loglik_null = fit$loglik.null, converged = fit$converged)
}
values$crr_relapse <- crr_values(relapse, ~ tier + age + mrss, 1)
values$crr_death <- crr_values(relapse, ~ tier + age, 2)
values$crr_age_only <- crr_values(relapse, ~ age, 1)
doc <- data.frame(time_months = 1:8, event = c(1, 2, 1, 0, 1, 2, 0, 1),
                  x = c(1.0, 0.2, 0.9, 0.4, 0.7, 0.1, 0.3, 0.8))
values$crr_docstring <- crr_values(doc, ~ x, 1)

write_json(values, file.path(out_dir, "competing.json"), digits = NA, auto_unbox = TRUE,
           na = "string", pretty = TRUE)
cat("wrote", file.path(out_dir, "competing.json"), "\n")

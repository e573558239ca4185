# Reference values for sclero_analysis' Cox models, computed with R's survival (coxph, cox.zph).
#
# Run from the repository root after survival.R:  Rscript tests/reference/cox.R
# Reads tests/reference/data/relapse.csv; writes tests/reference/data/relapse_split.csv and
# tests/reference/cox.json (values with R and package versions).
suppressPackageStartupMessages({library(survival); library(jsonlite)})
out_dir <- "tests/reference"
relapse <- read.csv(file.path(out_dir, "data", "relapse.csv"))
relapse$tier <- factor(relapse$tier, levels = c("ivig", "immunosuppression", "cytoreduction", "other"))
# cox.zph in survival 3.5 fails on integer columns ("REAL() can only be applied to a 'numeric'")
for (v in c("mrss", "iweight", "event")) relapse[[v]] <- as.numeric(relapse[[v]])

cox_values <- function(fit, zph = TRUE) {
  s <- summary(fit)
  out <- list(
    terms = names(coef(fit)), coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
    se_naive = if (!is.null(fit$naive.var)) unname(sqrt(diag(fit$naive.var))) else NULL,
    loglik = fit$loglik[2], loglik_null = fit$loglik[1],
    lr = unname(s$logtest["test"]), wald = unname(fit$wald.test),  # summary() rounds waldtest
    score = unname(s$sctest["test"]), robust_score = if (!is.null(fit$rscore)) fit$rscore else NULL,
    concordance = unname(fit$concordance["concordance"]), n = fit$n, n_events = fit$nevent)
  if (zph) {
    for (tr in c("km", "identity", "rank")) {
      z <- cox.zph(fit, transform = tr, terms = TRUE)
      out[[paste0("zph_", tr)]] <- list(term = rownames(z$table), chisq = unname(z$table[, "chisq"]),
                                        df = unname(z$table[, "df"]), p = unname(z$table[, "p"]))
    }
  }
  out
}
f <- Surv(time_months, event == 1) ~ tier + age + mrss
cases <- list(
  efron = cox_values(coxph(f, data = relapse)),
  breslow = cox_values(coxph(f, data = relapse, ties = "breslow")),
  robust = cox_values(coxph(f, data = relapse, robust = TRUE)),
  cluster_site = cox_values(coxph(f, data = relapse, cluster = site)),
  weighted = cox_values(coxph(f, data = relapse, weights = weight)),
  weighted_breslow = cox_values(coxph(f, data = relapse, weights = weight, ties = "breslow")),
  integer_weights_robust = cox_values(coxph(f, data = relapse, weights = iweight, robust = TRUE)),
  strata_sex = cox_values(coxph(Surv(time_months, event == 1) ~ tier + age + mrss + strata(sex),
                                data = relapse)),
  weighted_cluster_strata = cox_values(coxph(Surv(time_months, event == 1) ~ tier + age + strata(sex),
                                             data = relapse, weights = weight, cluster = site)),
  death = cox_values(coxph(Surv(time_months, event == 2) ~ tier + age, data = relapse)),
  tier_only = cox_values(coxph(Surv(time_months, event == 1) ~ tier, data = relapse))
)

# counting process: split at 12 months, a covariate that switches on after 12 months
relapse$id <- seq_len(nrow(relapse))
# split by hand: survSplit's Surv() would turn the competing-death code 2 into NA
early <- transform(relapse, start_months = 0, stop_months = pmin(time_months, 12),
                   event = ifelse(time_months <= 12, event, 0))
late <- transform(subset(relapse, time_months > 12), start_months = 12, stop_months = time_months)
split <- rbind(early, late)
split <- split[order(split$id, split$start_months), ]
split$late_high_mrss <- as.numeric(split$start_months >= 12 & split$mrss > 20)
write.csv(split, file.path(out_dir, "data", "relapse_split.csv"), row.names = FALSE)
cases$counting_same_as_baseline <- cox_values(
  coxph(Surv(start_months, stop_months, event == 1) ~ tier + age + mrss, data = split))
cases$counting_time_varying <- cox_values(
  coxph(Surv(start_months, stop_months, event == 1) ~ tier + age + late_high_mrss, data = split))
cases$counting_cluster_id <- cox_values(
  coxph(Surv(start_months, stop_months, event == 1) ~ tier + late_high_mrss, data = split,
        cluster = id), zph = FALSE)

doc <- data.frame(time_months = 1:8, event = c(1, 1, 0, 1, 1, 0, 1, 0),
                  x = c(1.2, 0.4, 0.8, 0.1, 1.5, 0.3, 0.2, 0.9))
cases$docstring <- cox_values(coxph(Surv(time_months, event) ~ x, data = doc), zph = FALSE)

values <- list(meta = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                           script = "tests/reference/cox.R"),
               cox = cases)
write_json(values, file.path(out_dir, "cox.json"), digits = NA, auto_unbox = TRUE, na = "string",
           pretty = TRUE)
cat("wrote", file.path(out_dir, "cox.json"), "\n")

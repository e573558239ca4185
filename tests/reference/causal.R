# Reference values for sclero_analysis.causal: propensity models (nnet::multinom, glm), weights,
# IPTW Cox with robust SE clustered on patient (coxph) and weighted Kaplan-Meier (survfit).
#
# Run from the repository root:
#   .venv/bin/python tests/reference/make_causal_data.py   # writes data/causal_lines.csv
#   Rscript tests/reference/causal.R                        # writes tests/reference/causal.json
suppressPackageStartupMessages({library(survival); library(nnet); library(jsonlite)})
out_dir <- "tests/reference"
lines <- read.csv(file.path(out_dir, "data", "causal_lines.csv"))
lines$tier <- factor(lines$tier, levels = c("ivig", "immunosuppression", "cytoreduction", "other"))
lines$neuro <- as.logical(lines$neuro); lines$cardiac <- as.logical(lines$cardiac)
lines$event <- as.numeric(lines$event)

# multinomial propensity model, converged far beyond nnet's defaults
ps_fit <- multinom(tier ~ age_at_diagnosis_years + mrss + neuro + cardiac, data = lines,
                   trace = FALSE, maxit = 10000, reltol = 1e-16, abstol = 1e-16)
p <- fitted(ps_fit)
own <- p[cbind(seq_len(nrow(lines)), as.integer(lines$tier))]
share <- as.numeric(table(lines$tier) / nrow(lines))[as.integer(lines$tier)]
w_ate <- share / own                                  # stabilised ATE weights
w_att <- p[, "cytoreduction"] / own                   # ATT, focal cytoreduction
w_ato <- (1 / own) / rowSums(1 / p)                   # generalised overlap weights
lines$w_ate <- w_ate

cox_values <- function(fit) list(terms = names(coef(fit)), coef = unname(coef(fit)),
                                 se = unname(sqrt(diag(vcov(fit)))),
                                 se_naive = unname(sqrt(diag(fit$naive.var))))
iptw_cox <- coxph(Surv(time_months, event == 1) ~ tier, data = lines, weights = w_ate,
                  cluster = patient_id)
iptw_cox_rows <- coxph(Surv(time_months, event == 1) ~ tier, data = lines, weights = w_ate,
                       robust = TRUE)
km <- survfit(Surv(time_months, event == 1) ~ tier, data = lines, weights = w_ate)
km_strata <- rep(sub("^tier=", "", names(km$strata)), km$strata)

# binary logistic model: cytoreduction vs ivig lines only
two <- droplevels(subset(lines, tier %in% c("ivig", "cytoreduction")))
glm_fit <- glm(I(tier == "cytoreduction") ~ age_at_diagnosis_years + mrss + neuro + cardiac,
               family = binomial, data = two, control = glm.control(epsilon = 1e-14, maxit = 100))

values <- list(
  versions = list(R = R.version.string, survival = as.character(packageVersion("survival")),
                  nnet = as.character(packageVersion("nnet"))),
  multinom = list(coef = coef(ps_fit), loglik = as.numeric(logLik(ps_fit)), scores = unname(p)),
  weights = list(ate_stabilized = w_ate, att_cytoreduction = w_att, ato = w_ato),
  iptw_cox_cluster = cox_values(iptw_cox),
  iptw_cox_robust_rows = cox_values(iptw_cox_rows),
  weighted_km = list(group = km_strata, time = km$time, n_risk = km$n.risk, n_event = km$n.event,
                     survival = km$surv, std_err = km$std.err, logse = km$logse),
  logistic = list(coef = unname(coef(glm_fit)), scores = unname(fitted(glm_fit)))
)
writeLines(toJSON(values, digits = I(15), auto_unbox = TRUE, matrix = "rowmajor", na = "string"),
           file.path(out_dir, "causal.json"))

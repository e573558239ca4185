# Reference values for sa.publication_odds: the odds ratio of publication (literature vs
# registry) for a responder, from a 2x2 table and with a covariate. glm + profile-likelihood
# interval (MASS confint), and fisher.test (conditional ML, exact interval) for comparison.
# Run once: Rscript tests/reference/publication_odds.R
suppressPackageStartupMessages({library(MASS); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))

two_by_two <- function(a, b, c, d) {
  # a, b: literature responders, non-responders; c, d: registry responders, non-responders
  g <- data.frame(literature = c(1, 1, 0, 0), responded = c(1, 0, 1, 0), w = c(a, b, c, d))
  fit <- glm(literature ~ responded, family = binomial, weights = w, data = g)
  ci <- suppressMessages(confint(fit, "responded", level = 0.95))
  ft <- fisher.test(matrix(c(a, c, b, d), 2))
  list(cells = c(a, b, c, d), log_odds = unname(coef(fit)["responded"]),
       se = unname(sqrt(vcov(fit)["responded", "responded"])),
       lower = unname(exp(ci[1])), upper = unname(exp(ci[2])),
       fisher_odds = unname(ft$estimate), fisher_lower = ft$conf.int[1], fisher_upper = ft$conf.int[2])
}

out <- list(tables = list(two_by_two(30, 5, 40, 35), two_by_two(12, 3, 50, 60), two_by_two(9, 4, 21, 17)))
set.seed(19)
n <- 300
d <- data.frame(literature = rbinom(n, 1, 0.3), severity = round(rnorm(n, 20, 8), 1))
d$responded <- rbinom(n, 1, plogis(-0.5 + 1.2 * d$literature + 0.04 * (d$severity - 20)))
fit <- glm(literature ~ responded + severity, family = binomial, data = d)
ci <- suppressMessages(confint(fit, "responded", level = 0.95))
out$covariate <- list(data = d, log_odds = unname(coef(fit)["responded"]),
                      se = unname(sqrt(vcov(fit)["responded", "responded"])),
                      lower = unname(exp(ci[1])), upper = unname(exp(ci[2])))
out$versions <- list(R = R.version.string, MASS = as.character(packageVersion("MASS")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "publication_odds.json"))
cat("wrote", file.path(here, "publication_odds.json"), "\n")

# Reference values for sclero_analysis.tables.table_one (R's tableone conventions, computed here
# from their definitions with base R and MASS::ginv so that no tableone install is needed).
#
# Run from the repository root:
#   .venv/bin/python tests/reference/make_table_data.py   # writes data/table_lines.csv
#   Rscript tests/reference/tables.R                       # writes tests/reference/tables.json
suppressPackageStartupMessages({library(MASS); library(jsonlite)})
out_dir <- "tests/reference"
d <- read.csv(file.path(out_dir, "data", "table_lines.csv"))
tiers <- c("ivig", "immunosuppression", "cytoreduction", "other")
d$tier <- factor(d$tier, levels = tiers)
d$paraprotein <- factor(d$paraprotein, levels = c("IgG-lambda", "IgG-kappa", "IgA-lambda",
                                                  "IgA-kappa", "IgM", "other", "none"))
d$sex <- factor(d$sex, levels = c("F", "M"))

smd_cont <- function(x, g, a, b) {
  xa <- x[g == a & !is.na(x)]; xb <- x[g == b & !is.na(x)]
  abs(mean(xa) - mean(xb)) / sqrt((var(xa) + var(xb)) / 2)
}
smd_cat <- function(x, g, a, b) {  # Yang & Dalton (2012), as tableone's StdDiffMulti
  pa <- prop.table(table(x[g == a]))[-1]; pb <- prop.table(table(x[g == b]))[-1]
  cv <- function(p) { m <- -outer(p, p); diag(m) <- p * (1 - p); m }
  t <- pa - pb; s <- (cv(pa) + cv(pb)) / 2
  sqrt(as.numeric(t(t) %*% ginv(s) %*% t))
}
mean_pairs <- function(f, x) {
  pairs <- combn(tiers, 2)
  mean(apply(pairs, 2, function(p) f(x, d$tier, p[1], p[2])))
}
per_tier <- function(f, x) sapply(tiers, function(t) f(x[d$tier == t & !is.na(x)]))
two <- d[d$tier %in% c("ivig", "cytoreduction"), ]
two$tier <- droplevels(two$tier)

out <- list(
  age_mean = per_tier(mean, d$age_at_diagnosis_years),
  age_sd = per_tier(sd, d$age_at_diagnosis_years),
  mrss_median = per_tier(median, d$mrss),
  mrss_q1 = per_tier(function(v) quantile(v, 0.25, type = 7), d$mrss),
  mrss_q3 = per_tier(function(v) quantile(v, 0.75, type = 7), d$mrss),
  mrss_missing = sum(is.na(d$mrss)),
  smd_age = mean_pairs(smd_cont, d$age_at_diagnosis_years),
  smd_mrss = mean_pairs(smd_cont, d$mrss),
  smd_paraprotein = mean_pairs(smd_cat, d$paraprotein),
  smd_sex = mean_pairs(smd_cat, d$sex),
  smd_neuro = mean_pairs(smd_cat, factor(d$neuro)),
  smd_paraprotein_two = smd_cat(two$paraprotein, two$tier, "ivig", "cytoreduction"),
  p_age = oneway.test(age_at_diagnosis_years ~ tier, data = d, var.equal = TRUE)$p.value,
  p_mrss = kruskal.test(mrss ~ tier, data = d)$p.value,
  p_paraprotein = suppressWarnings(chisq.test(table(d$paraprotein, d$tier))$p.value),
  p_sex_two = chisq.test(table(two$sex, two$tier))$p.value,  # 2x2: Yates' correction
  p_neuro = chisq.test(table(d$neuro, d$tier))$p.value
)
write_json(out, file.path(out_dir, "tables.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)

-- wrk script for POST /predict: real TLC green-taxi rides (testdata/online/rides.jsonl,
-- February 2021), each request with a unique id, so that every request is a new record
-- in the prediction log.
--
--   wrk -t2 -c64 -d10s -s bench/predict.lua http://127.0.0.1:9696/predict
--
-- Non-2xx answers (e.g. a 409 for a reused id or a 503) show up in wrk's
-- "Non-2xx or 3xx responses" line; a clean run has none.

local rides = {
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-01T00:34:03","lpep_dropoff_datetime":"2021-02-01T00:51:58","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":130,"DOLocationID":205,"passenger_count":5,"trip_distance":3.66,"fare_amount":14,"extra":0.5,"mta_tax":0.5,"tip_amount":10,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":25.3,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-02T11:10:30","lpep_dropoff_datetime":"2021-02-02T11:19:55","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":74,"DOLocationID":236,"passenger_count":1,"trip_distance":1.5,"fare_amount":8,"extra":0,"mta_tax":0.5,"tip_amount":2.89,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":14.44,"payment_type":1,"trip_type":1,"congestion_surcharge":2.75]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-02T16:59:47","lpep_dropoff_datetime":"2021-02-02T17:06:11","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":75,"DOLocationID":238,"passenger_count":1,"trip_distance":1.21,"fare_amount":6.5,"extra":1,"mta_tax":0.5,"tip_amount":0,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":11.05,"payment_type":2,"trip_type":1,"congestion_surcharge":2.75]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-03T00:19:48","lpep_dropoff_datetime":"2021-02-03T00:24:50","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":75,"DOLocationID":43,"passenger_count":1,"trip_distance":1.09,"fare_amount":6,"extra":0.5,"mta_tax":0.5,"tip_amount":0,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":7.3,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-03T10:23:37","lpep_dropoff_datetime":"2021-02-03T10:24:21","store_and_fwd_flag":"N","RatecodeID":5,"PULocationID":243,"DOLocationID":243,"passenger_count":1,"trip_distance":0.07,"fare_amount":17.5,"extra":0,"mta_tax":0,"tip_amount":3.56,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":21.36,"payment_type":1,"trip_type":2,"congestion_surcharge":0]],
  [["VendorID":1,"lpep_pickup_datetime":"2021-02-03T14:12:37","lpep_dropoff_datetime":"2021-02-03T14:44:08","store_and_fwd_flag":"Y","RatecodeID":1,"PULocationID":41,"DOLocationID":142,"passenger_count":1,"trip_distance":4,"fare_amount":20.5,"extra":2.75,"mta_tax":0.5,"tip_amount":0,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":24.05,"payment_type":1,"trip_type":1,"congestion_surcharge":2.75]],
  [["VendorID":1,"lpep_pickup_datetime":"2021-02-03T17:27:08","lpep_dropoff_datetime":"2021-02-03T17:50:16","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":74,"DOLocationID":69,"passenger_count":1,"trip_distance":2.2,"fare_amount":15,"extra":1,"mta_tax":0.5,"tip_amount":0,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":16.8,"payment_type":2,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-03T20:56:40","lpep_dropoff_datetime":"2021-02-03T20:56:42","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":264,"DOLocationID":264,"passenger_count":1,"trip_distance":0,"fare_amount":2.5,"extra":0.5,"mta_tax":0.5,"tip_amount":11,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":14.8,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-04T09:37:31","lpep_dropoff_datetime":"2021-02-04T09:43:38","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":74,"DOLocationID":42,"passenger_count":1,"trip_distance":0.9,"fare_amount":6,"extra":0,"mta_tax":0.5,"tip_amount":1.16,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":7.96,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-04T12:41:54","lpep_dropoff_datetime":"2021-02-04T12:41:57","store_and_fwd_flag":"N","RatecodeID":5,"PULocationID":197,"DOLocationID":264,"passenger_count":1,"trip_distance":0,"fare_amount":13,"extra":0,"mta_tax":0,"tip_amount":2,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":15.3,"payment_type":1,"trip_type":2,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-04T15:31:59","lpep_dropoff_datetime":"2021-02-04T16:02:53","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":75,"DOLocationID":48,"passenger_count":1,"trip_distance":3.47,"fare_amount":19.5,"extra":0,"mta_tax":0.5,"tip_amount":5.76,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":28.81,"payment_type":1,"trip_type":1,"congestion_surcharge":2.75]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-04T18:29:23","lpep_dropoff_datetime":"2021-02-04T18:36:30","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":166,"DOLocationID":41,"passenger_count":1,"trip_distance":1.46,"fare_amount":7,"extra":1,"mta_tax":0.5,"tip_amount":0,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":8.8,"payment_type":2,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-04T22:45:57","lpep_dropoff_datetime":"2021-02-04T22:55:28","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":42,"DOLocationID":74,"passenger_count":1,"trip_distance":1.91,"fare_amount":9,"extra":0.5,"mta_tax":0.5,"tip_amount":0,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":10.3,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-05T09:23:02","lpep_dropoff_datetime":"2021-02-05T09:29:57","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":74,"DOLocationID":41,"passenger_count":1,"trip_distance":1.09,"fare_amount":6.5,"extra":0,"mta_tax":0.5,"tip_amount":0.4,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":7.7,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
  [["VendorID":2,"lpep_pickup_datetime":"2021-02-05T12:37:03","lpep_dropoff_datetime":"2021-02-05T13:05:12","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":42,"DOLocationID":48,"passenger_count":1,"trip_distance":6.52,"fare_amount":25.5,"extra":0,"mta_tax":0.5,"tip_amount":5.81,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":34.86,"payment_type":1,"trip_type":1,"congestion_surcharge":2.75]],
  [["VendorID":1,"lpep_pickup_datetime":"2021-02-05T15:24:19","lpep_dropoff_datetime":"2021-02-05T15:39:20","store_and_fwd_flag":"N","RatecodeID":1,"PULocationID":244,"DOLocationID":166,"passenger_count":2,"trip_distance":2.8,"fare_amount":13,"extra":0,"mta_tax":0.5,"tip_amount":4.1,"tolls_amount":0,"improvement_surcharge":0.3,"total_amount":17.9,"payment_type":1,"trip_type":1,"congestion_surcharge":0]],
}

local counter = 0
local threads = 0
-- A run prefix, so that runs against the same database do not reuse ids.
math.randomseed(os.time())
local run = string.format("%x%04x", os.time(), math.random(0, 65535))

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  counter = counter + 1
  local ride = rides[(counter % #rides) + 1]
  local body = '{"id":"wrk-' .. run .. '-' .. tostring(tid) .. '-' .. counter .. '",' .. ride .. '}'
  return wrk.format("POST", nil, headers, body)
end

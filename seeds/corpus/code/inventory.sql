-- Schema for a small warehouse inventory system.

CREATE TABLE suppliers (
    supplier_id   INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    contact_email TEXT
);

CREATE TABLE products (
    product_id    INTEGER PRIMARY KEY,
    sku           TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    supplier_id   INTEGER NOT NULL REFERENCES suppliers (supplier_id),
    unit_price    NUMERIC(10, 2) NOT NULL CHECK (unit_price >= 0),
    reorder_level INTEGER NOT NULL DEFAULT 10
);

CREATE TABLE warehouses (
    warehouse_id  INTEGER PRIMARY KEY,
    city          TEXT NOT NULL
);

-- One row per product per warehouse; quantity can never go negative.
CREATE TABLE stock (
    product_id    INTEGER NOT NULL REFERENCES products (product_id),
    warehouse_id  INTEGER NOT NULL REFERENCES warehouses (warehouse_id),
    quantity      INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    PRIMARY KEY (product_id, warehouse_id)
);

-- Query 1: products whose total stock across all warehouses is at or below
-- their reorder level, with the supplier to contact.
SELECT p.sku, p.name, s.name AS supplier, COALESCE(SUM(st.quantity), 0) AS total_qty
FROM products p
JOIN suppliers s ON s.supplier_id = p.supplier_id
LEFT JOIN stock st ON st.product_id = p.product_id
GROUP BY p.product_id, p.sku, p.name, s.name, p.reorder_level
HAVING COALESCE(SUM(st.quantity), 0) <= p.reorder_level
ORDER BY total_qty;

-- Query 2: total value of stock held in each warehouse, largest first.
SELECT w.city, SUM(st.quantity * p.unit_price) AS stock_value
FROM warehouses w
JOIN stock st ON st.warehouse_id = w.warehouse_id
JOIN products p ON p.product_id = st.product_id
GROUP BY w.warehouse_id, w.city
ORDER BY stock_value DESC;
